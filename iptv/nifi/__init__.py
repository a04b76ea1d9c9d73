"""The project's side of NiFi: the mutual-TLS login (:mod:`~iptv.nifi.client`), the flows and what a deployment is
made of (:mod:`~iptv.nifi.flows`), their place on the canvas (:mod:`~iptv.nifi.layout`), deploying them
(:mod:`~iptv.nifi.deploy`, command line :mod:`~iptv.nifi.deploy_cli`) and the operator's status report
(:mod:`~iptv.nifi.status`)."""
