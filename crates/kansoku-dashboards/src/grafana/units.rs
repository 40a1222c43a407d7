//! Grafana unit ids → o2 v8 units (`../shared/reference/dashboards.md` §2.6).

/// How a Grafana unit is carried over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The o2 unit (`numbers`, `bytes`, `bps`, `seconds`, `percent-1`, `custom` …).
    pub unit: &'static str,
    /// The suffix of a `custom` unit.
    pub custom: Option<&'static str>,
    /// Why the conversion is not exact, when it is not.
    pub approximation: Option<&'static str>,
}

const fn exact(unit: &'static str) -> Unit {
    Unit {
        unit,
        custom: None,
        approximation: None,
    }
}

const fn suffix(custom: &'static str) -> Unit {
    Unit {
        unit: "custom",
        custom: Some(custom),
        approximation: None,
    }
}

/// The o2 unit of a Grafana unit id.
pub fn convert(grafana: &str) -> Unit {
    match grafana {
        "" | "short" | "none" | "locale" => exact("numbers"),
        "bytes" | "binbytes" => exact("bytes"),
        "decbytes" => Unit {
            approximation: Some("decimal bytes (1000) shown as binary bytes (1024)"),
            ..exact("bytes")
        },
        "kbytes" | "deckbytes" => exact("kilobytes"),
        "mbytes" | "decmbytes" => exact("megabytes"),
        "Bps" | "binBps" | "decBps" => exact("bps"),
        "bps" | "binbps" | "decbps" => suffix("b/s"),
        "pps" => suffix("p/s"),
        "ops" | "opm" => suffix("ops/s"),
        "reqps" => suffix("req/s"),
        "rps" | "rds" => suffix("reads/s"),
        "wps" | "wds" => suffix("writes/s"),
        "iops" => suffix("io/s"),
        "cps" => suffix("c/s"),
        "s" | "dtdurations" => exact("seconds"),
        "ms" | "dtdurationms" => exact("milliseconds"),
        "µs" | "us" => exact("microseconds"),
        "ns" => exact("nanoseconds"),
        "m" => Unit {
            approximation: Some("minutes shown as seconds of the same number"),
            ..suffix("min")
        },
        "h" => suffix("h"),
        "d" => suffix("d"),
        "percent" => exact("percent"),
        "percentunit" => exact("percent-1"),
        "hertz" => suffix("Hz"),
        "celsius" => suffix("°C"),
        "watt" => suffix("W"),
        "volt" => suffix("V"),
        "currencyUSD" => suffix("$"),
        "currencyEUR" => suffix("€"),
        _ => Unit {
            approximation: Some("unit not known to kansoku, shown as a plain number"),
            ..exact("numbers")
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_prometheus_units_map() {
        assert_eq!(convert("percentunit").unit, "percent-1");
        assert_eq!(convert("Bps").unit, "bps");
        let bits = convert("bps");
        assert_eq!((bits.unit, bits.custom), ("custom", Some("b/s")));
        assert_eq!(convert("bytes"), exact("bytes"));
        assert!(convert("decbytes").approximation.is_some());
        assert_eq!(convert("s").unit, "seconds");
        assert_eq!(convert("reqps").custom, Some("req/s"));
        assert!(convert("lengthmm").approximation.is_some());
    }
}
