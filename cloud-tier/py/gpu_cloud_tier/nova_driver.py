"""Nova's fake hypervisor with a console the tests write, and fake GPUs for PCI passthrough.

compute_driver = gpu_cloud_tier.nova_driver.ConsoleFakeDriver (load_compute_driver imports a
full class path when nova.virt.<name> does not exist).
"""
import io
import os

from oslo_serialization import jsonutils

from nova.compute import task_states
from nova import exception
from nova.image import glance
from nova.virt import fake

# vendor 10de = NVIDIA; product ids of the GPUs the HFD NetLab flavors pass through.
GPUS = {'1f06': 8, '1e07': 8}  # RTX 2060 SUPER, RTX 2080 Ti


class ConsoleFakeDriver(fake.FakeDriver):
    def snapshot(self, context, instance, image_id, update_task_state):
        # fake.FakeDriver.snapshot uploads nothing, so the image would stay `queued` and
        # `openstack server image create --wait` (the bake) would never return: upload a tiny
        # disk, as the libvirt driver uploads the real one (LibvirtDriver.snapshot).
        if instance.uuid not in self.instances:
            raise exception.InstanceNotRunning(instance_id=instance.uuid)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        update_task_state(task_state=task_states.IMAGE_UPLOADING, expected_state=task_states.IMAGE_PENDING_UPLOAD)
        glance.API().update(context, image_id, {'disk_format': 'raw', 'container_format': 'bare'},
                            data=io.BytesIO(b'\0' * 65536), purge_props=False)

    def get_console_output(self, context, instance):
        # <console dir>/<server uuid>.log, else <console dir>/default.log, else nothing yet.
        folder = os.environ.get('GPU_CLOUD_CONSOLE_DIR', '/tmp')
        for name in (instance.uuid + '.log', 'default.log'):
            path = os.path.join(folder, name)
            if os.path.exists(path):
                with open(path) as f:
                    return f.read()
        return ''

    def get_available_resource(self, nodename):
        status = super().get_available_resource(nodename)
        devices = []
        for bus, (product, count) in enumerate(sorted(GPUS.items()), start=0x41):
            for slot in range(count):
                devices.append({
                    'address': '0000:%02x:%02x.0' % (bus, slot),
                    'product_id': product, 'vendor_id': '10de',
                    'status': 'available', 'dev_type': 'type-PCI',
                    'parent_addr': None, 'numa_node': None, 'label': 'label_10de_' + product,
                })
        status['pci_passthrough_devices'] = jsonutils.dumps(devices)
        return status
