# A field that changes type widens its column; no record is lost and old files read with the new type.
ingest app
{"_timestamp": @+1, "code": 200, "ok": true}
{"_timestamp": @+2, "code": 404, "ok": false}

flush

ingest app
{"_timestamp": @+3, "code": 1.5, "ok": 1}

flush

ingest app
{"_timestamp": @+4, "code": "E42", "extra": "only here"}

query
SELECT code, ok, extra FROM app ORDER BY _timestamp
----
{"code":"200","ok":1}
{"code":"404","ok":0}
{"code":"1.5","ok":1}
{"code":"E42","extra":"only here"}

# A field that exists only in newer data is null in older files.
query
SELECT count(*) AS with_extra, count(code) AS with_code FROM app WHERE extra IS NOT NULL
----
{"with_extra":1,"with_code":1}

query
SELECT sum(ok) AS s FROM app
----
{"s":2}
