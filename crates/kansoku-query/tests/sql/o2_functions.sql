# OpenObserve's search functions over fresh and stored data.
ingest app
{"_timestamp": @+1, "log": "GET /api/users 200 took 5ms", "level": "info", "pod": "api-1"}
{"_timestamp": @+2, "log": "ERROR: connection refused", "level": "error", "pod": "api-2"}
{"_timestamp": @+3, "message": "retrying after Error 503", "level": "warn", "pod": "worker-1"}

flush

ingest app
{"_timestamp": @+4, "log": "timeout while connecting", "level": "error", "pod": "worker-2"}
{"_timestamp": @+5, "level": "debug", "pod": "api-3"}
{"_timestamp": @+6, "log": "100% done, it's fine", "level": "info", "pod": "api-1"}

# match_all: case-insensitive substring over the full-text fields (log, message), newest first.
query
SELECT pod FROM app WHERE match_all('error')
----
{"pod":"worker-1"}
{"pod":"api-2"}

# NOT match_all keeps records that lack the fields.
query
SELECT pod FROM app WHERE NOT match_all('error')
----
{"pod":"api-1"}
{"pod":"api-3"}
{"pod":"worker-2"}
{"pod":"api-1"}

# Wildcards match whole words: 'connect*' matches "connecting" and "connection", '*out' "timeout".
query
SELECT pod FROM app WHERE match_all('connect*') ORDER BY pod
----
{"pod":"api-2"}
{"pod":"worker-2"}

query
SELECT pod FROM app WHERE match_all('*out')
----
{"pod":"worker-2"}

# Special characters are literal, not LIKE wildcards or quote breakers.
query
SELECT pod FROM app WHERE match_all('100%') AND match_all('it''s')
----
{"pod":"api-1"}

query
SELECT pod FROM app WHERE match_all('_')
----

query
SELECT count(*) AS n FROM app WHERE str_match(pod, 'api')
----
{"n":4}

query
SELECT pod FROM app WHERE str_match(level, 'ERROR')
----

query
SELECT pod FROM app WHERE str_match_ignore_case(level, 'ERROR')
----
{"pod":"worker-2"}
{"pod":"api-2"}

query
SELECT pod FROM app WHERE re_match(pod, '^worker-[0-9]$')
----
{"pod":"worker-2"}
{"pod":"worker-1"}

query
SELECT count(*) AS n FROM app WHERE re_not_match(pod, '^api')
----
{"n":2}

# Full-text fields follow the stream's settings.
settings app {"full_text_search_keys": ["pod"]}

query
SELECT level FROM app WHERE match_all('WORKER-1')
----
{"level":"warn"}

error
SELECT * FROM app WHERE match_all(pod)
----
expects a string literal
