"""IPTV viewing simulator and Kafka producer: ``python -m producer --help``."""
