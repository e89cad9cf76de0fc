use super::*;

#[test]
fn content_types_come_from_the_extension() {
    assert_eq!(content_type_for("report.PDF"), "application/pdf");
    assert_eq!(content_type_for("/var/log/syslog.log"), "text/plain");
    assert_eq!(content_type_for("noextension"), "application/octet-stream");
}

#[test]
fn header_fields_need_a_name_and_one_line() {
    assert_eq!(header_field("X-Tag: a b").unwrap(), ("X-Tag", "a b"));
    assert!(header_field("no colon").is_err());
    assert!(header_field("Bad Name: v").is_err());
    assert!(header_field("X: a\r\nBcc: b").is_err());
}
