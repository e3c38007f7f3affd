"""Helpers the tests share: artifact factories, the markdown reader, the golden dataset, the import house."""
