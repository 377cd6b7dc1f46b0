"""Loops a connect process runs until shutdown besides its consumers: receipts and deliveries."""
