"""Registers the orders' answer to the approval engine (see kehu.approvals.hooks)."""

from kehu.orders.services import register_approval_handlers

register_approval_handlers()
