"""nova-compute with our driver: load_compute_driver imports only 'nova.virt.<compute_driver>'
(nova/virt/driver.py), so our module is registered under that name first."""
import sys


def main():
    import nova.cmd.compute  # monkey-patches eventlet before anything else imports socket
    import gpu_cloud_tier
    from gpu_cloud_tier import nova_driver
    sys.modules['nova.virt.gpu_cloud_tier'] = gpu_cloud_tier
    sys.modules['nova.virt.gpu_cloud_tier.nova_driver'] = nova_driver
    return nova.cmd.compute.main()
