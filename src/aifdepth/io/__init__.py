"""Readers and writers of the on-disk formats the datasets use."""
