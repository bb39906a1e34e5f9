"""What the scenarios check in the mini-cloud, one openstacksdk process per question (the CLI
would take one process per field). Prints JSON.

    python3 -m gpu_cloud_tier.inspect_cloud server ID      # the server, its ports, rules, floating IPs
    python3 -m gpu_cloud_tier.inspect_cloud volume ID      # status and attachments ({} if gone)
    python3 -m gpu_cloud_tier.inspect_cloud delete-volume ID
    python3 -m gpu_cloud_tier.inspect_cloud stop-server ID
    python3 -m gpu_cloud_tier.inspect_cloud shelve-server ID   # what the cloud does after a week
    python3 -m gpu_cloud_tier.inspect_cloud volumes-named NAME # every volume of that name (a list)
    python3 -m gpu_cloud_tier.inspect_cloud fill-gpus 'FLAVOR|PREFIX' # admin: servers that take every free GPU of FLAVOR's kind
    python3 -m gpu_cloud_tier.inspect_cloud free-gpus PREFIX   # admin: delete those servers
    python3 -m gpu_cloud_tier.inspect_cloud events ID          # the server's instance actions and their events
    python3 -m gpu_cloud_tier.inspect_cloud server-group NAME   # policy and members ({} if gone)
    python3 -m gpu_cloud_tier.inspect_cloud image NAME     # images of that name, with tags/properties

OS_CLIENT_CONFIG_FILE / OS_CLOUD pick the cloud, as for the CLI. A server or volume that is not
there (deleted, or an empty id) is {} ("not found"), never an error.
"""
import json
import os
import sys
import time

import openstack


def server(conn, sid):
    s = conn.compute.find_server(sid, ignore_missing=True) if sid else None
    if s is None:
        return {}
    try:
        s = conn.compute.get_server(s.id)
    except openstack.exceptions.NotFoundException:
        return {}
    flavor = s.flavor or {}
    ports = []
    for p in conn.network.ports(device_id=s.id):
        rules = []
        for sg in p.security_group_ids:
            for r in conn.network.security_group_rules(security_group_id=sg):
                rules.append({'direction': r.direction, 'ethertype': r.ether_type, 'protocol': r.protocol,
                              'port_min': r.port_range_min, 'port_max': r.port_range_max,
                              'remote_ip_prefix': r.remote_ip_prefix, 'remote_group_id': r.remote_group_id})
        fips = [{'address': f.floating_ip_address, 'status': f.status} for f in conn.network.ips(port_id=p.id)]
        ports.append({'id': p.id, 'name': p.name, 'security_group_ids': p.security_group_ids, 'rules': rules,
                      'fixed_ips': [f['ip_address'] for f in p.fixed_ips], 'floating_ips': fips})
    return {
        'id': s.id, 'name': s.name, 'status': s.status, 'vm_state': s.vm_state,
        'flavor': flavor.get('original_name') or flavor.get('name'),
        'image_id': (s.image or {}).get('id'), 'key_name': s.key_name,
        'volumes': [v['id'] for v in (s.attached_volumes or [])],
        'metadata': s.metadata, 'ports': ports,
    }


def volume(conn, vid):
    v = conn.block_storage.find_volume(vid, ignore_missing=True) if vid else None
    if v is None or v.status == 'deleting':
        return {}
    return {'id': v.id, 'name': v.name, 'status': v.status,
            'attached_to': [a['server_id'] for a in (v.attachments or [])]}


def delete_volume(conn, vid):
    v = conn.block_storage.find_volume(vid, ignore_missing=True) if vid else None
    if v is not None and v.status != 'deleting':
        # A server delete returns before Cinder has the volume detached (force-delete is admin-only).
        for _ in range(60):
            if v.status in ('available', 'error'):
                break
            time.sleep(2)
            v = conn.block_storage.get_volume(v.id)
        conn.block_storage.delete_volume(v)
        conn.block_storage.wait_for_delete(v, wait=120)
    return {'deleted': v is not None}


def stop_server(conn, sid):
    # What a sealed builder does itself (poweroff): the fake hypervisor has no guest to do it.
    s = conn.compute.get_server(sid)
    conn.compute.stop_server(s)
    conn.compute.wait_for_server(s, status='SHUTOFF', wait=120)
    return {'stopped': s.id}


def shelve_server(conn, sid):
    # What the HFD cloud does after the lifetime, whatever the power state (shelve works from
    # ACTIVE, SHUTOFF and PAUSED); shelved_offload_time = 0 in the tier offloads at once.
    s = conn.compute.get_server(sid)
    conn.compute.shelve_server(s)
    conn.compute.wait_for_server(s, status='SHELVED_OFFLOADED', wait=300)
    return {'shelved': s.id}


def volumes_named(conn, name):
    # Filtered here: Cinder refuses a name filter from a non-admin (Invalid filters name, resource_filters).
    return [{'id': v.id, 'status': v.status, 'attached_to': [a['server_id'] for a in (v.attachments or [])]}
            for v in conn.block_storage.volumes() if v.name == name and v.status != 'deleting']


def admin():
    return openstack.connect(cloud='cloud-tier-admin')


def fill_gpus(_conn, arg):
    flavor_name, _, prefix = arg.partition('|')
    prefix = prefix or 'gpu-filler-'
    # A full GPU cloud, as on a Monday morning: other projects' servers take every free GPU the
    # flavor asks for (admin project, quota raised for it), until Nova finds no valid host.
    conn = admin()
    project = conn.identity.find_project('admin')
    conn.set_compute_quotas(project.id, cores=1000, ram=10_000_000, instances=100)
    flavor = conn.compute.find_flavor(flavor_name)
    image = next(conn.image.images(status='active'))
    made = []
    for i in range(64):
        s = conn.compute.create_server(name=f'{prefix}{i}', flavor_id=flavor.id, image_id=image.id, networks='none')
        s = _settle(conn, s)
        if s.status != 'ACTIVE':
            conn.compute.delete_server(s)
            conn.compute.wait_for_delete(s, wait=120)
            return {'fillers': made, 'full_after': len(made)}
        made.append(s.id)
    raise RuntimeError('the cloud still had GPUs after 64 fillers')


def _settle(conn, s):
    for _ in range(150):
        s = conn.compute.get_server(s.id)
        if s.status in ('ACTIVE', 'ERROR'):
            return s
        time.sleep(2)
    return s


def free_gpus(_conn, prefix):
    conn = admin()
    gone = []
    for s in conn.compute.servers(all_projects=True):
        if s.name.startswith(prefix):
            conn.compute.delete_server(s)
            gone.append(s)
    for s in gone:
        conn.compute.wait_for_delete(s, wait=120)
    return {'deleted': len(gone)}


def events(conn, sid):
    out = []
    for a in conn.compute.server_actions(sid):
        detail = conn.compute.get_server_action(a.request_id, sid)
        out.append({'action': a.action, 'events': [{'event': e['event'], 'result': e.get('result')} for e in (detail.events or [])]})
    return out


def server_group(conn, name):
    for g in conn.compute.server_groups():
        if g.name == name:
            return {'id': g.id, 'policy': g.policy or (g.policies or [None])[0], 'members': g.member_ids}
    return {}


def image(conn, name):
    return [{'id': i.id, 'status': i.status, 'tags': i.tags, 'properties': i.properties}
            for i in conn.image.images(name=name)]


def main():
    what, arg = sys.argv[1], sys.argv[2]
    conn = openstack.connect(cloud=os.environ.get('OS_CLOUD', 'openstack'))
    fn = {'server': server, 'volume': volume, 'delete-volume': delete_volume, 'stop-server': stop_server,
          'shelve-server': shelve_server, 'volumes-named': volumes_named,
          'fill-gpus': fill_gpus, 'free-gpus': free_gpus, 'events': events,
          'server-group': server_group, 'image': image}[what]
    print(json.dumps(fn(conn, arg)))


if __name__ == '__main__':
    main()
