"""Test doubles for the mini-cloud: what a fake hypervisor and no agents cannot provide."""
