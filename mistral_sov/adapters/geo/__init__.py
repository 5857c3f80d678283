"""Attribution providers: where an address is (country), who operates it (ASN, operator,
jurisdiction), and which cloud region publishes it (range files).

- ``countries.IptoccProvider``: the embedded default (RIR registration country, ``iptocc``)
- ``mmdb.MmdbDatabase``: ``--geoip-db`` files (MaxMind GeoIP2/GeoLite2 City/Country/ASN,
  DB-IP lite, IPinfo lite), layout detected from metadata and record shape
- ``geofeed.Geofeed``: RFC 8805 ``--geofeed`` CSV files
- ``ranges``: cloud range files (Azure, AWS, Google Cloud, Oracle, Cloudflare, Fastly) with
  provenance, stored in a data directory; ``ranges.RangeIndex`` answers lookups
- ``operators.OperatorTable``: the shipped ASN -> operator -> parent jurisdiction table
"""
