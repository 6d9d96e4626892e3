"""Kehu (客户): customer management for Chinese enterprises."""
