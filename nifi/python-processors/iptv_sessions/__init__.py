"""IPTV viewing-session pairing, in the order a message goes through it:

* ``event_contract.py``: a Kafka message -> a viewing event, or why not (``schema_validation.py``: the JSON
  Schema validators; ``fast_path.py``: the regex that reads the producer's canonical shape without them;
  ``batch_fast_path.py``: the same over a whole batch, with the common pairing cases);
* ``session_pairer.py``: the pairing rules (SessionPairer), over the state of ``pairer_state.py`` (what is
  remembered between batches and its serialisations); ``batch_result.py``: what a batch produces;
  ``quarantine_reasons.py``: why a message is quarantined; ``channel_catalog.py``: the known channel ids;
* ``flowfile_formats.py``: the consumer batch lines read and the dated sections written;
* ``ingestion.py``: exactly-once bookkeeping (processed offsets, replay of the last output);
  ``state_store.py``: the durable journal it is saved to;
* ``PairViewingEvents.py``: the NiFi 2 Python processor.

Kept free of imports so that NiFi's extension discovery and the unit tests can load the modules independently.
"""
