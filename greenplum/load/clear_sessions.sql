-- A whole-date sessions load of date {{ dt }} (iptv.warehouse.load_sessions) first clears what the warehouse
-- holds of the date: its fact rows, its sessions rows of load_rejects (the guide's, dataset 'programmes', stay)
-- and its ledger of loaded files. load/insert_sessions.sql then writes them anew, in the same transaction.
DELETE FROM {{ schema }}.fact_session WHERE dt = CAST({{ dt }} AS DATE);

DELETE FROM {{ schema }}.load_rejects WHERE dt = CAST({{ dt }} AS DATE) AND dataset = 'sessions';

DELETE FROM {{ schema }}.loaded_file WHERE dt = CAST({{ dt }} AS DATE) AND dataset = 'sessions';
