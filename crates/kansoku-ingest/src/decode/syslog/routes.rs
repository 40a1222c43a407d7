//! Which stream a syslog message goes to: the first rule whose field matches, else the default
//! stream. Rules come from `KANSOKU_SYSLOG_ROUTES`:
//! `FIELD=PATTERN=>STREAM[,FIELD=PATTERN=>STREAM…]`, FIELD one of `hostname`, `appname`,
//! `facility`, `severity`, PATTERN matched whole with `*` standing for any text.

/// A message field a rule can look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteField {
    /// HOSTNAME.
    Hostname,
    /// APP-NAME / TAG.
    Appname,
    /// The facility keyword (`auth`, `local0`, …).
    Facility,
    /// The severity keyword (`err`, `info`, …).
    Severity,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The field looked at.
    pub field: RouteField,
    /// The pattern (`*` wildcards), compared case-insensitively.
    pub pattern: String,
    /// The target stream.
    pub stream: String,
}

/// The rules and the default stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes {
    /// Rules, tried in order.
    pub rules: Vec<Route>,
    /// Stream of messages no rule matches.
    pub default_stream: String,
}

/// The fields a rule may look at, of one message.
#[derive(Debug, Clone, Copy)]
pub struct RouteInput<'a> {
    /// HOSTNAME.
    pub hostname: Option<&'a str>,
    /// APP-NAME / TAG.
    pub appname: Option<&'a str>,
    /// Facility keyword.
    pub facility: &'a str,
    /// Severity keyword.
    pub severity: &'a str,
}

impl Routes {
    /// Parses `KANSOKU_SYSLOG_ROUTES` (empty: no rules).
    pub fn parse(rules: &str, default_stream: &str) -> Result<Routes, String> {
        if default_stream.trim().is_empty() {
            return Err("the default syslog stream (KANSOKU_SYSLOG_STREAM) is empty".to_string());
        }
        let rules = rules
            .split(',')
            .map(str::trim)
            .filter(|rule| !rule.is_empty())
            .map(parse_rule)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Routes {
            rules,
            default_stream: default_stream.trim().to_string(),
        })
    }

    /// The stream of a message.
    pub fn stream_of(&self, input: RouteInput<'_>) -> &str {
        self.rules
            .iter()
            .find(|rule| {
                let value = match rule.field {
                    RouteField::Hostname => input.hostname,
                    RouteField::Appname => input.appname,
                    RouteField::Facility => Some(input.facility),
                    RouteField::Severity => Some(input.severity),
                };
                value.is_some_and(|value| glob_match(&rule.pattern, value))
            })
            .map_or(self.default_stream.as_str(), |rule| rule.stream.as_str())
    }
}

fn parse_rule(rule: &str) -> Result<Route, String> {
    let usage = "write FIELD=PATTERN=>STREAM, FIELD one of hostname, appname, facility, severity";
    let Some((condition, stream)) = rule.rsplit_once("=>") else {
        return Err(format!("syslog route '{rule}' has no '=>' ({usage})"));
    };
    let Some((field, pattern)) = condition.split_once('=') else {
        return Err(format!("syslog route '{rule}' has no FIELD= ({usage})"));
    };
    let field = match field.trim() {
        "hostname" | "host" => RouteField::Hostname,
        "appname" | "app" | "program" => RouteField::Appname,
        "facility" => RouteField::Facility,
        "severity" => RouteField::Severity,
        other => {
            return Err(format!(
                "syslog route '{rule}' names unknown field '{other}' ({usage})"
            ));
        }
    };
    let pattern = pattern.trim();
    let stream = stream.trim();
    if pattern.is_empty() || stream.is_empty() {
        return Err(format!(
            "syslog route '{rule}' needs a pattern and a stream ({usage})"
        ));
    }
    Ok(Route {
        field,
        pattern: pattern.to_ascii_lowercase(),
        stream: stream.to_string(),
    })
}

/// Whether `text` matches `pattern` (lower case, `*` = any text), ignoring ASCII case.
fn glob_match(pattern: &str, text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(index) => rest = &rest[index + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(hostname: &'a str, appname: &'a str, facility: &'a str) -> RouteInput<'a> {
        RouteInput {
            hostname: Some(hostname),
            appname: Some(appname),
            facility,
            severity: "info",
        }
    }

    #[test]
    fn first_matching_rule_wins() {
        let routes = Routes::parse(
            "appname=nginx*=>web, facility=auth=>security, hostname=db-*=>databases, host=*=>other",
            "syslog",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            routes.stream_of(input("db-1", "NGINX-ingress", "user")),
            "web"
        );
        assert_eq!(routes.stream_of(input("db-1", "sshd", "auth")), "security");
        assert_eq!(routes.stream_of(input("db-1", "sshd", "user")), "databases");
        assert_eq!(routes.stream_of(input("web-1", "sshd", "user")), "other");
        let none = RouteInput {
            hostname: None,
            appname: None,
            facility: "user",
            severity: "info",
        };
        assert_eq!(routes.stream_of(none), "syslog");
    }

    #[test]
    fn glob() {
        assert!(glob_match("a*c", "abc"));
        assert!(glob_match("a*c", "ac"));
        assert!(!glob_match("a*c", "ab"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "aXc"));
        assert!(!glob_match("ab*ba", "aba"));
        assert!(glob_match("exact", "EXACT"));
        assert!(!glob_match("exact", "exactly"));
    }

    #[test]
    fn bad_rules_are_named() {
        for (rules, why) in [
            ("appname=nginx", "no '=>'"),
            ("nginx=>web", "no FIELD="),
            ("colour=red=>web", "unknown field 'colour'"),
            ("appname==>web", "needs a pattern"),
            ("appname=x=>", "needs a pattern and a stream"),
        ] {
            let error = Routes::parse(rules, "syslog").err().unwrap_or_default();
            assert!(error.contains(why), "{rules}: {error}");
        }
        assert!(Routes::parse("", " ").is_err());
    }
}
