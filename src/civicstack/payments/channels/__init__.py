"""Payment channels: pure-Python pieces the payments ledger wires to its tables.

- ``convenience_store``: 超商代收 three-segment Code 39 barcodes (make, verify, check characters).
- ``virtual_account``: 虛擬帳號 rules for ATM / bank transfer (a Protocol, a registry, one example rule).
- ``gateway``: the online card payment contract, and a signed sandbox gateway (no real money).
- ``notice_pdf``: the printable A4 payment notice (繳款單) with barcodes, account and QR code.
- ``settlement``: parsing agents' and banks' settlement files (對帳檔) and matching them to orders.

No module here touches Django models or the database; formats are documented in
docs/payments-formats.md.
"""
