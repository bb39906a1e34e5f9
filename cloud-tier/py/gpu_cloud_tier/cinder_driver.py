"""A Cinder volume driver that keeps no data: volumes exist in the API only (no LVM, no iSCSI here)."""
from cinder.volume import driver


class NullVolumeDriver(driver.VolumeDriver):
    VERSION = '0.1'

    def do_setup(self, context):
        pass

    def check_for_setup_error(self):
        pass

    def create_volume(self, volume):
        return None

    def delete_volume(self, volume):
        pass

    def create_export(self, context, volume, connector):
        return None

    def ensure_export(self, context, volume):
        pass

    def remove_export(self, context, volume):
        pass

    def initialize_connection(self, volume, connector, **kwargs):
        return {'driver_volume_type': 'fake', 'data': {'volume_id': volume.id}}

    def terminate_connection(self, volume, connector, **kwargs):
        pass

    def extend_volume(self, volume, new_size):
        pass

    def _update_volume_stats(self):
        self._stats = {
            'volume_backend_name': 'null', 'vendor_name': 'cdktf-openstack-gpu', 'driver_version': self.VERSION,
            'storage_protocol': 'fake', 'pools': [{
                'pool_name': 'null', 'total_capacity_gb': 10000, 'free_capacity_gb': 10000,
                'reserved_percentage': 0, 'QoS_support': False, 'thin_provisioning_support': True,
                'max_over_subscription_ratio': 20.0, 'multiattach': False,
            }],
        }

    def get_volume_stats(self, refresh=False):
        if refresh or not self._stats:
            self._update_volume_stats()
        return self._stats
