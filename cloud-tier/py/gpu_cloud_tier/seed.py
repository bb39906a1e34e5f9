"""What the mini-cloud's tests need in it, in one process (openstacksdk; one `openstack` CLI call
costs 5-10 s of start-up on a loaded machine, the whole seed over 10 minutes that way).

Each step finds before it creates, so a rerun changes nothing:
service catalog, a user project, HFD NetLab's GPU flavors, Ubuntu-named images, the `public`
external network, and clouds.yaml with `openstack` (the user) and `cloud-tier-admin`.

    python3 -m gpu_cloud_tier.seed STATE_DIR           # all of it
    python3 -m gpu_cloud_tier.seed STATE_DIR identity  # projects, users, roles, catalog only (Keystone alone is up)
    python3 -m gpu_cloud_tier.seed STATE_DIR resources # the rest: flavors, images, network
"""
import os
import sys
import time

import openstack

PASSWORD = 'cloud-tier-admin'  # a throwaway password of a cloud that only listens on 127.0.0.1
AUTH_URL = 'http://127.0.0.1:5000/v3'
REGION = 'RegionOne'

# type, name, url: services find each other through the internal endpoints (keystoneauth's default for them).
ENDPOINTS = [
    ('identity', 'keystone', AUTH_URL),
    ('image', 'glance', 'http://127.0.0.1:9292'),
    ('placement', 'placement', 'http://127.0.0.1:8778'),
    ('compute', 'nova', 'http://127.0.0.1:8774/v2.1'),
    ('network', 'neutron', 'http://127.0.0.1:9696'),
    ('volumev3', 'cinderv3', 'http://127.0.0.1:8776/v3/%(project_id)s'),
    ('block-storage', 'cinder', 'http://127.0.0.1:8776/v3/%(project_id)s'),
]
# HFD NetLab's GPU flavors: names and PCI aliases as there (vCPUs/RAM/disk chosen alike here).
# g1-bad-alias.medium: an alias count no GPU promise matches (the preflight scenario).
FLAVORS = [
    ('g1-1x2060.medium', 4, 16384, 50, 'rtx2060:1'),
    ('g1-2x2060.medium', 8, 32768, 50, 'rtx2060:2'),
    ('g1-4x2060.medium', 16, 65536, 50, 'rtx2060:4'),
    ('g1-1x2080.medium', 4, 16384, 50, 'rtx2080:1'),
    ('g1-2x2080.medium', 8, 32768, 50, 'rtx2080:2'),
    ('g1-bad-alias.medium', 4, 16384, 50, 'rtx2080:3'),
    ('m1.small', 1, 2048, 20, None),
]
IMAGES = [
    'Ubuntu 22.04 - Jammy Jellyfish - 64-bit - Cloud Based Image',
    'Ubuntu 24.04 - Noble Numbat - 64-bit - Cloud Based Image',
]

CLOUDS_YAML = f"""clouds:
  cloud-tier-admin:
    auth: {{ auth_url: {AUTH_URL}, username: admin, password: {PASSWORD}, project_name: admin,
            user_domain_name: Default, project_domain_name: Default }}
    region_name: {REGION}
    identity_api_version: 3
  openstack:
    auth: {{ auth_url: {AUTH_URL}, username: gpu-user, password: gpu-user, project_name: gpu,
            user_domain_name: Default, project_domain_name: Default }}
    region_name: {REGION}
    identity_api_version: 3
"""


def step(name, t0=[time.monotonic()]):
    now = time.monotonic()
    print(f'cloud-tier seed: {name} ({now - t0[0]:.1f} s)', flush=True)
    t0[0] = now


def admin():
    return openstack.connect(auth_url=AUTH_URL, username='admin', password=PASSWORD, project_name='admin',
                             user_domain_name='Default', project_domain_name='Default', region_name=REGION,
                             identity_api_version='3')


def identity(conn):
    idn = conn.identity
    projects = {}
    for name in ('service', 'gpu'):
        projects[name] = idn.find_project(name, domain_id='default') or idn.create_project(name=name, domain_id='default')
    user = idn.find_user('gpu-user', domain_id='default') or idn.create_user(
        name='gpu-user', password='gpu-user', domain_id='default', default_project_id=projects['gpu'].id)
    member = idn.find_role('member') or idn.create_role(name='member')
    # Nova sends its own token as X-Service-Token to Neutron and Cinder, and their auth_token
    # middleware (service_token_roles_required) accepts it only with the `service` role.
    service = idn.find_role('service') or idn.create_role(name='service')
    admin_user = idn.find_user('admin', domain_id='default')
    # Keystone answers a repeated grant with 204 too: idempotent as it is.
    for role in (idn.find_role('admin'), service):
        idn.assign_project_role_to_user(projects['service'], admin_user, role)
    idn.assign_project_role_to_user(projects['gpu'], user, member)


def catalog(conn):
    idn = conn.identity
    services = {s.name: s for s in idn.services()}
    for kind, name, url in ENDPOINTS:
        svc = services.get(name) or idn.create_service(name=name, type=kind)
        have = {e.interface for e in idn.endpoints(service_id=svc.id)}
        for interface in ('public', 'internal'):
            if interface not in have:
                idn.create_endpoint(service_id=svc.id, interface=interface, url=url, region_id=REGION)


def flavors(conn):
    have = {f.name: f for f in conn.compute.flavors(is_public=None)}
    for name, vcpus, ram, disk, alias in FLAVORS:
        flavor = have.get(name) or conn.compute.create_flavor(name=name, vcpus=vcpus, ram=ram, disk=disk, is_public=True)
        if alias and (flavor.extra_specs or {}).get('pci_passthrough:alias') != alias:
            conn.set_flavor_specs(flavor.id, {'pci_passthrough:alias': alias})


def images(conn, state):
    tiny = os.path.join(state, 'tiny.img')
    if not os.path.exists(tiny):
        with open(tiny, 'wb') as f:
            f.write(b'\0' * 1048576)
    have = {i.name for i in conn.image.images()}
    for name in IMAGES:
        if name not in have:
            with open(tiny, 'rb') as f:
                # meta: image fields as given (kwargs would become string properties).
                conn.image.create_image(name, data=f, disk_format='raw', container_format='bare',
                                        meta={'visibility': 'public'}, disable_vendor_agent=False,
                                        wait=True, timeout=120)


def network(conn):
    net = conn.network.find_network('public') or conn.network.create_network(
        name='public', is_router_external=True, provider_network_type='flat', provider_physical_network='public')
    if not conn.network.find_subnet('public-subnet'):
        conn.network.create_subnet(network_id=net.id, name='public-subnet', cidr='172.24.4.0/24', ip_version=4,
                                   is_dhcp_enabled=False)


def main():
    state = sys.argv[1]
    with open(os.path.join(state, 'clouds.yaml'), 'w') as f:
        f.write(CLOUDS_YAML)
    part = sys.argv[2] if len(sys.argv) > 2 else 'all'
    if part in ('all', 'identity'):
        conn = admin()
        identity(conn)
        step('projects, user, roles')
        catalog(conn)
        step('service catalog')
    if part == 'identity':
        return
    # A new token: the first one's catalog had only Keystone in it.
    conn = admin()
    flavors(conn)
    step('flavors')
    images(conn, state)
    step('images')
    network(conn)
    step('public network')


if __name__ == '__main__':
    main()
