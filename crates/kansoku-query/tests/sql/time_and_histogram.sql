# Time ranges are [start, end): start inclusive, end exclusive. Histogram buckets align to the interval.
ingest app
{"_timestamp": @+0, "n": 1}
{"_timestamp": @+59, "n": 2}
{"_timestamp": @+60, "n": 3}
{"_timestamp": @+61, "n": 4}
{"_timestamp": @+3599, "n": 5}

flush

ingest app
{"_timestamp": @+3600, "n": 6}
{"_timestamp": @+3660, "n": 7}

query @+60 @+3600
SELECT n FROM app
----
{"n":5}
{"n":4}
{"n":3}

query @+0 @+60
SELECT n FROM app ORDER BY n
----
{"n":1}
{"n":2}

query @+3600 @+3601
SELECT n FROM app
----
{"n":6}

query
SELECT (CAST(histogram(_timestamp, '1 minute') AS BIGINT) - @+0) / 1000000 AS bucket, count(*) AS c FROM app GROUP BY 1 ORDER BY 1
----
{"bucket":0,"c":2}
{"bucket":60,"c":2}
{"bucket":3540,"c":1}
{"bucket":3600,"c":1}
{"bucket":3660,"c":1}

query
SELECT (CAST(histogram(_timestamp, '1 hour') AS BIGINT) - @+0) / 1000000 AS bucket, count(*) AS c FROM app GROUP BY 1 ORDER BY 1
----
{"bucket":0,"c":5}
{"bucket":3600,"c":2}

# Without ORDER BY, plain queries come newest first; LIMIT applies after that order.
query
SELECT n FROM app LIMIT 2
----
{"n":7}
{"n":6}

error
SELECT histogram(_timestamp, '1 fortnight') FROM app
----
invalid histogram interval
