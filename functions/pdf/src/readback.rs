//! Reading a rendered visa back as a person or a border scanner would, with
//! Debian's poppler-utils (pdftotext, pdfinfo, pdftoppm) and zbar-tools
//! (zbarimg): the read-back tests of this crate and of the local gateway
//! share these, so both judge a visa the same way.

use std::process::Command;

/// Runs a command-line tool and returns what it printed. A tool that is
/// missing or fails is an error naming the Debian package to install.
pub fn tool(name: &str, args: &[&str], package: &str) -> Result<String, String> {
    let out = Command::new(name).args(args).output().map_err(|e| {
        format!(
            "cannot run `{name}` ({e}): install Debian's {package} \
             (apt-get install -y {package}; tests/run.sh does)"
        )
    })?;
    if !out.status.success() {
        return Err(format!(
            "`{name} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("`{name}` printed something not UTF-8"))
}

/// In `pdftotext -layout` output, the first word on the line below `label`,
/// starting at the label's column: the value of a field on the visa.
pub fn value_below(text: &str, label: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (i, column) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| l.find(label).map(|byte| (i, l[..byte].chars().count())))?;
    let below: String = lines.get(i + 1)?.chars().skip(column).collect();
    below.split_whitespace().next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_is_read_at_the_label_column() {
        let text = "  SURNAME / ФАМИЛИЯ        SEX / ПОЛ\n  ERIKSSON                  F\n";
        assert_eq!(value_below(text, "SEX").as_deref(), Some("F"));
        assert_eq!(value_below(text, "SURNAME").as_deref(), Some("ERIKSSON"));
        assert_eq!(value_below(text, "NATIONALITY"), None);
        assert_eq!(value_below("SEX", "SEX"), None);
    }

    #[test]
    fn a_missing_tool_names_its_package() {
        let err = tool("no-such-tool-here", &[], "poppler-utils").unwrap_err();
        assert!(err.contains("apt-get install -y poppler-utils"), "{err}");
    }
}
