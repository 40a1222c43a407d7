//! `POST /api/{org}/{stream}/_multi`: one JSON record per line. Blank lines are skipped; each
//! line is parsed on its own, so a bad line fails only its record.

/// The non-blank lines of `body` with their 1-based line numbers, trimmed of whitespace and `\r`.
pub fn lines(body: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    super::strip_bom(body)
        .split(|b| *b == b'\n')
        .enumerate()
        .filter_map(|(index, line)| {
            let trimmed = line.trim_ascii();
            (!trimmed.is_empty()).then_some((index + 1, trimmed))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_are_skipped_and_numbers_kept() {
        let body = b"{\"a\":1}\r\n\n  \n{\"b\":2}";
        let seen: Vec<(usize, &[u8])> = lines(body).collect();
        assert_eq!(seen, vec![(1, &b"{\"a\":1}"[..]), (4, &b"{\"b\":2}"[..])]);
    }
}
