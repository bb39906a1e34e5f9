#!/usr/bin/env bash
# A mini OpenStack (Zed, Debian bookworm packages) on 127.0.0.1 for the real-provider test tier:
# Keystone, Glance, Placement, Nova (fake hypervisor with fake GPUs), Neutron (ML2, a mechanism
# driver that binds every port), Cinder (a volume driver that stores nothing), RabbitMQ, MariaDB.
# Services run as background processes with pid files (no systemd in CI containers).
#
#   cloud-tier/cloud.sh up       # install (once), configure (once), start; idempotent
#   cloud-tier/cloud.sh status   # which services run
#   cloud-tier/cloud.sh down     # stop the services, keep the data
#   cloud-tier/cloud.sh purge    # stop and delete everything under .cloud-tier/cloud
# Exit 3 from `up`: the machine cannot run the cloud (the reason is printed); anything else is a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
state="$root/.cloud-tier/cloud"
etc="$state/etc" log="$state/log" run="$state/run"
py=/usr/bin/python3
# $state/py: the package's metadata (entry points), written by `up`, not kept in git (a build artifact).
export PYTHONPATH="$here/py:$state/py" GPU_CLOUD_CONSOLE_DIR="$state/console"
PASSWORD=cloud-tier-admin   # a throwaway password of a cloud that only listens on 127.0.0.1
KS=http://127.0.0.1:5000/v3

PACKAGES=(python3-keystone python3-glance python3-placement python3-nova python3-neutron python3-cinder
  python3-pymysql python3-openstackclient rabbitmq-server mariadb-server)
COMMON_DEBS=(nova-common glance-common cinder-common neutron-common)

skip() { echo "cloud-tier: cannot run here: $*" >&2; exit 3; }
# phase NAME COMMAND...: run one step of `up` and print how long it took (CI logs show the split).
phase() {
  local name=$1 t=$SECONDS; shift
  "$@"
  echo "cloud-tier: phase $name: $(( SECONDS - t )) s"
}

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || skip "needs root to apt-get install ${missing[*]}"
    command -v apt-get >/dev/null || skip "no apt-get (Debian bookworm packages needed)"
    # Keep the packages' own service starts away: this script starts what it needs.
    local had_policy=0
    [ -e /usr/sbin/policy-rc.d ] && had_policy=1
    [ $had_policy = 1 ] || printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
      > "$state/apt.log" 2>&1 || { [ $had_policy = 1 ] || rm -f /usr/sbin/policy-rc.d; tail -5 "$state/apt.log" >&2; skip "apt-get install failed (log: $state/apt.log)"; }
    [ $had_policy = 1 ] || rm -f /usr/sbin/policy-rc.d
  fi
  # The paste pipelines ship in the *-common packages, whose maintainer scripts configure a
  # system-wide service; unpack only their files.
  if [ ! -f "$state/common/usr/share/nova-common/api-paste.ini" ]; then
    mkdir -p "$state/common/debs"
    (cd "$state/common/debs" && apt-get download "${COMMON_DEBS[@]}" >/dev/null 2>&1) || skip "apt-get download ${COMMON_DEBS[*]} failed"
    local d; for d in "$state"/common/debs/*.deb; do dpkg-deb -x "$d" "$state/common"; done
  fi
}

# start NAME COMMAND...: a background service with a pid file and a log.
start() {
  local name=$1; shift
  if [ -f "$run/$name.pid" ] && kill -0 "$(cat "$run/$name.pid")" 2>/dev/null; then return; fi
  setsid "$@" >>"$log/$name.log" 2>&1 < /dev/null &
  echo $! > "$run/$name.pid"
}
# python3 -c ... module:function args: an entry point without the service packages' wrappers.
PYRUN=("$py" -c "import sys,importlib; m,f=sys.argv[1].split(':'); sys.argv=sys.argv[1:]; sys.exit(getattr(importlib.import_module(m),f)())")
runpy() { "${PYRUN[@]}" "$@"; }
wait_port() {
  local port=$1 name=$2
  for _ in $(seq 1 120); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 1
  done
  echo "cloud-tier: $name did not listen on $port; last lines of $log/$name.log:" >&2
  tail -20 "$log/$name.log" >&2 || true
  return 1
}

# Another checkout's cloud on these ports would answer for ours, with its own state: when none of
# our services runs, every port must be free.
ports_free() {
  local f port
  for f in "$run"/*.pid; do
    [ -e "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && return 0
  done
  for port in 3306 5672 5000 9292 8778 9696 8774 8776; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "cloud-tier: 127.0.0.1:$port is taken by a process this checkout did not start (another checkout's mini-cloud? its cloud.sh down stops it)" >&2
      return 1
    fi
  done
}

start_mariadb() {
  mkdir -p "$state/mysql" "$run/mysqld"
  chown -R mysql:mysql "$state/mysql" "$run/mysqld" 2>/dev/null || true
  if [ ! -d "$state/mysql/mysql" ]; then
    mariadb-install-db --user=mysql --datadir="$state/mysql" --auth-root-authentication-method=socket >"$log/mariadb-install.log" 2>&1
  fi
  start mariadb mariadbd --no-defaults --user=mysql --datadir="$state/mysql" --bind-address=127.0.0.1 --port=3306 \
    --socket="$run/mysqld/mysqld.sock" --pid-file="$run/mysqld/mysqld.pid" --max-connections=1000 --skip-name-resolve
  wait_port 3306 mariadb
}
sql() { mariadb --no-defaults -uroot --socket="$run/mysqld/mysqld.sock" -e "$1"; }

start_rabbit() {
  mkdir -p "$state/rabbitmq"
  chown -R rabbitmq:rabbitmq "$state/rabbitmq" 2>/dev/null || true
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_MNESIA_BASE="$state/rabbitmq/mnesia" \
    RABBITMQ_LOG_BASE="$state/rabbitmq/log" RABBITMQ_NODENAME=rabbit@localhost HOME="$state/rabbitmq"
  start rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server
  wait_port 5672 rabbitmq
}

write_config() {
  # Neutron loads ML2 mechanism drivers by entry point: ours (neutron_mech.BindAllMechanismDriver) is
  # found through this metadata on PYTHONPATH, as an installed package's would be.
  mkdir -p "$state/py/gpu_cloud_tier-0.1.egg-info"
  printf 'Metadata-Version: 1.1\nName: gpu-cloud-tier\nVersion: 0.1\n' > "$state/py/gpu_cloud_tier-0.1.egg-info/PKG-INFO"
  printf '[neutron.ml2.mechanism_drivers]\nbind_all = gpu_cloud_tier.neutron_mech:BindAllMechanismDriver\n' \
    > "$state/py/gpu_cloud_tier-0.1.egg-info/entry_points.txt"
  mkdir -p "$etc"/{keystone/fernet-keys,keystone/credential-keys,nova,glance,placement,neutron,cinder} "$state/images" "$state/cinder" "$state/nova" "$state/console"
  local db=mysql+pymysql://openstack:openstack@127.0.0.1
  local rabbit=rabbit://guest:guest@127.0.0.1:5672/
  local authtoken="[keystone_authtoken]
www_authenticate_uri = $KS
auth_url = $KS
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = admin
password = $PASSWORD
service_token_roles_required = true"
  # Each service's authtoken section also names its catalog type (service_type below): keystonemiddleware
  # refuses every token of an application credential with access rules where it is unset
  # (BaseAuthProtocol.validate_allowed_request).
  local service_auth="auth_url = $KS
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = admin
password = $PASSWORD
region_name = RegionOne"

  cat > "$etc/keystone/keystone.conf" <<C
[DEFAULT]
log_file = $log/keystone.log
[database]
connection = $db/keystone
[token]
provider = fernet
[fernet_tokens]
key_repository = $etc/keystone/fernet-keys
[credential]
key_repository = $etc/keystone/credential-keys
C
  cat > "$etc/glance/glance-api.conf" <<C
[DEFAULT]
bind_host = 127.0.0.1
bind_port = 9292
workers = 1
enabled_backends = file:file
[database]
connection = $db/glance
[glance_store]
default_backend = file
[file]
filesystem_store_datadir = $state/images
[os_glance_staging_store]
filesystem_store_datadir = $state/images/staging
[os_glance_tasks_store]
filesystem_store_datadir = $state/images/tasks
[paste_deploy]
flavor = keystone
config_file = $state/common/usr/share/glance-common/glance-api-paste.ini
$authtoken
service_type = image
C
  cat > "$etc/placement/placement.conf" <<C
[placement_database]
connection = $db/placement
[api]
auth_strategy = keystone
$authtoken
service_type = placement
C
  cat > "$etc/nova/nova.conf" <<C
[DEFAULT]
transport_url = $rabbit
compute_driver = gpu_cloud_tier.nova_driver.ConsoleFakeDriver
host = cloud-tier
state_path = $state/nova
my_ip = 127.0.0.1
osapi_compute_listen = 127.0.0.1
osapi_compute_workers = 1
enabled_apis = osapi_compute
use_rootwrap_daemon = false
# The fake hypervisor has no VIF plugging: do not wait for neutron's events.
vif_plugging_is_fatal = false
vif_plugging_timeout = 0
[wsgi]
api_paste_config = $state/common/usr/share/nova-common/api-paste.ini
[api]
auth_strategy = keystone
[api_database]
connection = $db/nova_api
[database]
connection = $db/nova
[oslo_concurrency]
lock_path = $state/nova/lock
[scheduler]
discover_hosts_in_cells_interval = 5
[filter_scheduler]
enabled_filters = ComputeFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,PciPassthroughFilter
[pci]
device_spec = {"vendor_id": "10de", "product_id": "1f06"}
device_spec = {"vendor_id": "10de", "product_id": "1e07"}
alias = {"name": "rtx2060", "vendor_id": "10de", "product_id": "1f06", "device_type": "type-PCI"}
alias = {"name": "rtx2080", "vendor_id": "10de", "product_id": "1e07", "device_type": "type-PCI"}
[glance]
api_servers = http://127.0.0.1:9292
[placement]
$service_auth
[neutron]
$service_auth
[cinder]
os_region_name = RegionOne
# Cinder lets only Nova delete an attachment of a server (OSSA-2023-003, in Debian's Zed): Nova sends
# its service token (a user with the "service" role, seed.py) along with the user's.
[service_user]
send_service_user_token = true
$service_auth
[oslo_messaging_notifications]
driver = noop
$authtoken
service_type = compute
C
  cat > "$etc/neutron/neutron.conf" <<C
[DEFAULT]
bind_host = 127.0.0.1
bind_port = 9696
core_plugin = ml2
service_plugins = router
transport_url = $rabbit
api_workers = 1
rpc_workers = 0
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
api_paste_config = $state/common/usr/share/neutron-common/api-paste.ini
state_path = $state/neutron
[database]
connection = $db/neutron
[oslo_concurrency]
lock_path = $state/neutron/lock
[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
mechanism_drivers = bind_all
extension_drivers = port_security
[ml2_type_flat]
flat_networks = public
[ml2_type_vxlan]
vni_ranges = 1:1000
[securitygroup]
enable_security_group = true
$authtoken
service_type = network
C
  cat > "$etc/cinder/cinder.conf" <<C
[DEFAULT]
transport_url = $rabbit
osapi_volume_listen = 127.0.0.1
osapi_volume_workers = 1
auth_strategy = keystone
api_paste_config = $state/common/usr/share/cinder-common/api-paste.ini
state_path = $state/cinder
enabled_backends = null
host = cloud-tier
[null]
volume_driver = gpu_cloud_tier.cinder_driver.NullVolumeDriver
volume_backend_name = null
[database]
connection = $db/cinder
[oslo_concurrency]
lock_path = $state/cinder/lock
[nova]
$service_auth
$authtoken
service_type = block-storage
C
}

setup_databases() {
  [ -f "$state/.db-done" ] && return
  local d
  sql "CREATE USER IF NOT EXISTS 'openstack'@'127.0.0.1' IDENTIFIED BY 'openstack'; GRANT ALL ON *.* TO 'openstack'@'127.0.0.1';"
  for d in keystone glance placement nova_api nova nova_cell0 neutron cinder; do sql "CREATE DATABASE IF NOT EXISTS $d"; done
  runpy keystone.cmd.manage:main --config-file "$etc/keystone/keystone.conf" db_sync
  runpy keystone.cmd.manage:main --config-file "$etc/keystone/keystone.conf" fernet_setup --keystone-user root --keystone-group root
  runpy keystone.cmd.manage:main --config-file "$etc/keystone/keystone.conf" credential_setup --keystone-user root --keystone-group root
  runpy keystone.cmd.manage:main --config-file "$etc/keystone/keystone.conf" bootstrap --bootstrap-password "$PASSWORD" \
    --bootstrap-public-url http://127.0.0.1:5000/v3 --bootstrap-region-id RegionOne
  runpy glance.cmd.manage:main --config-file "$etc/glance/glance-api.conf" db_sync
  OS_PLACEMENT_CONFIG_DIR="$etc/placement" runpy placement.cmd.manage:main --config-file "$etc/placement/placement.conf" db sync
  runpy nova.cmd.manage:main --config-file "$etc/nova/nova.conf" api_db sync
  runpy nova.cmd.manage:main --config-file "$etc/nova/nova.conf" cell_v2 map_cell0 --database_connection mysql+pymysql://openstack:openstack@127.0.0.1/nova_cell0
  runpy nova.cmd.manage:main --config-file "$etc/nova/nova.conf" cell_v2 create_cell --name cell1 || true
  runpy nova.cmd.manage:main --config-file "$etc/nova/nova.conf" db sync
  runpy neutron.db.migration.cli:main --config-file "$etc/neutron/neutron.conf" upgrade heads
  runpy cinder.cmd.manage:main --config-file "$etc/cinder/cinder.conf" db sync
  touch "$state/.db-done"
}

start_services() {
  start keystone env OS_KEYSTONE_CONFIG_DIR="$etc/keystone" $py -m gpu_cloud_tier.wsgi_serve 5000 keystone.server.wsgi:initialize_public_application
  wait_port 5000 keystone
  # Roles and catalog before the other services take their first tokens (they keep them for an hour).
  phase seed-identity "$here/seed.sh" identity
  start glance "${PYRUN[@]}" glance.cmd.api:main --config-file "$etc/glance/glance-api.conf"
  start placement env OS_PLACEMENT_CONFIG_DIR="$etc/placement" $py -m gpu_cloud_tier.wsgi_serve 8778 placement.wsgi:init_application
  start neutron "${PYRUN[@]}" neutron.cmd.eventlet.server:main --config-file "$etc/neutron/neutron.conf"
  # The eventlet server (nova.cmd.api): the WSGI app under plain threads deadlocks on eventlet's monkey patching.
  start nova-api "${PYRUN[@]}" nova.cmd.api:main --config-file "$etc/nova/nova.conf"
  start nova-conductor "${PYRUN[@]}" nova.cmd.conductor:main --config-file "$etc/nova/nova.conf"
  start nova-scheduler "${PYRUN[@]}" nova.cmd.scheduler:main --config-file "$etc/nova/nova.conf"
  start cinder-api "${PYRUN[@]}" cinder.cmd.api:main --config-file "$etc/cinder/cinder.conf"
  start cinder-scheduler "${PYRUN[@]}" cinder.cmd.scheduler:main --config-file "$etc/cinder/cinder.conf"
  start cinder-volume "${PYRUN[@]}" cinder.cmd.volume:main --config-file "$etc/cinder/cinder.conf"
  wait_port 8778 placement
  start nova-compute "${PYRUN[@]}" gpu_cloud_tier.compute:main --config-file "$etc/nova/nova.conf"
  wait_port 9292 glance; wait_port 9696 neutron; wait_port 8774 nova-api; wait_port 8776 cinder-api
}

# A fresh compute host is mapped to its cell only by the scheduler's periodic discovery: a boot
# before that fails with HostMappingNotFound. Map it now and wait until Nova lists it and its
# hypervisor is up (what the scheduler places on), so `up` returns a cloud that can boot.
map_compute_host() {
  local deadline=$((SECONDS + 180))
  while :; do
    runpy nova.cmd.manage:main --config-file "$etc/nova/nova.conf" cell_v2 discover_hosts >/dev/null 2>&1 || true
    if runpy nova.cmd.manage:main --config-file "$etc/nova/nova.conf" cell_v2 list_hosts 2>/dev/null | grep -qw cloud-tier &&
      OS_CLIENT_CONFIG_FILE="$state/clouds.yaml" openstack --os-cloud cloud-tier-admin hypervisor list -f value -c State 2>/dev/null | grep -qx up; then
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "cloud-tier: the compute host was not mapped to cell1 with its hypervisor up within 180 s" >&2
      return 1
    fi
    sleep 2
  done
}

case "${1:-}" in
  up)
    t0=$(date +%s)
    [ "$(uname -s)" = Linux ] || skip "not Linux"
    mkdir -p "$state" "$log" "$run"
    ports_free
    phase packages install_packages
    phase config write_config
    phase mariadb start_mariadb
    phase rabbitmq start_rabbit
    phase databases setup_databases
    phase services start_services
    phase seed "$here/seed.sh" resources
    phase compute-host map_compute_host
    echo "cloud-tier: up in $(( $(date +%s) - t0 )) s; clouds.yaml: $state/clouds.yaml (entries: openstack, cloud-tier-admin)"
    ;;
  status)
    for f in "$run"/*.pid; do
      [ -e "$f" ] || continue
      n=$(basename "$f" .pid)
      if kill -0 "$(cat "$f")" 2>/dev/null; then echo "$n: running"; else echo "$n: stopped"; fi
    done
    ;;
  down|purge)
    for f in "$run"/*.pid; do
      [ -e "$f" ] || continue
      pid=$(cat "$f")
      # Each service is its own session (setsid): end its process group, which we started.
      kill -TERM -- "-$pid" 2>/dev/null || true
      rm -f "$f"
    done
    pkill_epmd=$(pgrep -u rabbitmq -x epmd || true)
    [ -z "$pkill_epmd" ] || kill "$pkill_epmd" 2>/dev/null || true
    sleep 2
    if [ "$1" = purge ]; then rm -rf "$state"; fi
    ;;
  *) echo "usage: $0 up|status|down|purge" >&2; exit 2 ;;
esac
