"""IPTV viewing-session pairing: pure logic (pairing.py), exactly-once bookkeeping (ingestion.py) and the
NiFi 2 Python processor (PairViewingEvents.py).

Kept free of imports so that NiFi's extension discovery and the unit tests can load the modules independently.
"""
