//! Environment variables as the examples read them: a variable set to nothing (or to
//! spaces) counts as unset, as datadog-go treats an empty `DD_AGENT_HOST`. A deployment that
//! blanks a variable to turn something off gets it off, not a connection to "".

/// The value of `name`, or `None` when it is unset, empty or only whitespace.
pub fn var(name: &str) -> Option<String> {
    var_in(|name| std::env::var(name).ok(), name)
}

/// [`var`] over any lookup, for tests.
pub fn var_in(lookup: impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name).filter(|value| !value.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_or_blank_variable_is_unset() {
        let lookup = |name: &str| match name {
            "EMPTY" => Some(String::new()),
            "BLANK" => Some("  ".to_owned()),
            "SET" => Some("127.0.0.1:9092".to_owned()),
            _ => None,
        };
        assert_eq!(var_in(lookup, "EMPTY"), None);
        assert_eq!(var_in(lookup, "BLANK"), None);
        assert_eq!(var_in(lookup, "MISSING"), None);
        assert_eq!(var_in(lookup, "SET").as_deref(), Some("127.0.0.1:9092"));
    }
}
