#!/usr/bin/env bash
# What the mini-cloud's tests need in it, made once (each step checks first): service catalog,
# a user project, HFD NetLab's GPU flavors, Ubuntu-named images, the `public` external network,
# and clouds.yaml with `openstack` (the user) and `cloud-tier-admin`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state="$(dirname "$here")/.cloud-tier/cloud"
PASSWORD=cloud-tier-admin
cat > "$state/clouds.yaml" <<Y
clouds:
  cloud-tier-admin:
    auth: { auth_url: http://127.0.0.1:5000/v3, username: admin, password: $PASSWORD, project_name: admin,
            user_domain_name: Default, project_domain_name: Default }
    region_name: RegionOne
    identity_api_version: 3
  openstack:
    auth: { auth_url: http://127.0.0.1:5000/v3, username: gpu-user, password: gpu-user, project_name: gpu,
            user_domain_name: Default, project_domain_name: Default }
    region_name: RegionOne
    identity_api_version: 3
Y
export OS_CLIENT_CONFIG_FILE="$state/clouds.yaml" OS_CLOUD=cloud-tier-admin
os() { openstack "$@"; }
have() { [ -n "$("$@" -f value -c id 2>/dev/null || true)" ]; }

have os project show service || os project create --domain default service >/dev/null
os role add --project service --user admin admin
have os project show gpu || os project create --domain default gpu >/dev/null
have os user show gpu-user || os user create --domain default --password gpu-user gpu-user >/dev/null
have os role show member || os role create member >/dev/null
os role add --project gpu --user gpu-user member

endpoint() { # type name url
  have os service show "$2" || os service create --name "$2" "$1" >/dev/null
  local i
  # Services find each other through the internal endpoints (keystoneauth's default for them).
  for i in public internal; do
    [ -n "$(os endpoint list --service "$2" --interface $i -f value -c ID)" ] || os endpoint create --region RegionOne "$2" $i "$3" >/dev/null
  done
}
endpoint identity keystone http://127.0.0.1:5000/v3
endpoint image glance http://127.0.0.1:9292
endpoint placement placement http://127.0.0.1:8778
endpoint compute nova http://127.0.0.1:8774/v2.1
endpoint network neutron http://127.0.0.1:9696
endpoint volumev3 cinderv3 'http://127.0.0.1:8776/v3/%(project_id)s'
endpoint block-storage cinder 'http://127.0.0.1:8776/v3/%(project_id)s'

# HFD NetLab's GPU flavors: names and PCI aliases as there (vCPUs/RAM/disk chosen alike here).
flavor() { # name vcpus ram_mib disk_gib alias
  have os flavor show "$1" || os flavor create --public --vcpus "$2" --ram "$3" --disk "$4" --property "pci_passthrough:alias=$5" "$1" >/dev/null
}
flavor g1-1x2060.medium 4 16384 50 rtx2060:1
flavor g1-2x2060.medium 8 32768 50 rtx2060:2
flavor g1-4x2060.medium 16 65536 50 rtx2060:4
flavor g1-1x2080.medium 4 16384 50 rtx2080:1
flavor g1-2x2080.medium 8 32768 50 rtx2080:2
flavor g1-bad-alias.medium 4 16384 50 rtx2080:3
have os flavor show m1.small || os flavor create --public --vcpus 1 --ram 2048 --disk 20 m1.small >/dev/null

head -c 1048576 /dev/zero > "$state/tiny.img"
for name in 'Ubuntu 22.04 - Jammy Jellyfish - 64-bit - Cloud Based Image' 'Ubuntu 24.04 - Noble Numbat - 64-bit - Cloud Based Image'; do
  [ -n "$(os image list --name "$name" -f value -c ID)" ] || os image create --public --disk-format raw --container-format bare --file "$state/tiny.img" "$name" >/dev/null
done

have os network show public || os network create --external --provider-network-type flat --provider-physical-network public public >/dev/null
have os subnet show public-subnet || os subnet create --network public --subnet-range 172.24.4.0/24 --no-dhcp public-subnet >/dev/null
