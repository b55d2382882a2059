use super::examples::example;
use super::*;
use crate::envelope::payload_from_json;

fn check(kind: DocumentKind, doc: &serde_json::Value) -> Res<()> {
    let bytes = payload_from_json(doc).unwrap();
    let value: Value = ciborium::from_reader(bytes.0.as_slice()).unwrap();
    validate(kind, &value)
}

fn with(kind: DocumentKind, path: &[&str], v: serde_json::Value) -> serde_json::Value {
    let mut doc = example(kind);
    let mut cur = &mut doc;
    for (i, key) in path.iter().enumerate() {
        if i + 1 == path.len() {
            if v.is_null() {
                cur.as_object_mut().unwrap().remove(*key);
            } else {
                cur[*key] = v.clone();
            }
            break;
        }
        cur = match key.parse::<usize>() {
            Ok(n) => &mut cur[n],
            Err(_) => &mut cur[*key],
        };
    }
    doc
}

fn field_of(r: Res<()>) -> String {
    r.unwrap_err().field
}

#[test]
fn every_example_is_valid() {
    for kind in DocumentKind::ALL {
        check(kind, &example(kind)).unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
}

#[test]
fn every_required_field_is_required() {
    for kind in DocumentKind::ALL {
        for field in kind.required_fields() {
            let doc = with(kind, &[field], serde_json::Value::Null);
            let err = check(kind, &doc).unwrap_err();
            assert_eq!(err.field, *field, "{kind}");
        }
    }
}

#[test]
fn code_lists_and_check_digits() {
    use serde_json::json;
    use DocumentKind::*;
    let cases: Vec<(DocumentKind, Vec<&str>, serde_json::Value, &str)> = vec![
        (
            BillOfLading,
            vec!["containers"],
            json!(["CSQU3054384"]),
            "containers[0]",
        ),
        (
            BillOfLading,
            vec!["port_of_loading"],
            json!("ZZSHA"),
            "port_of_loading",
        ),
        (BillOfLading, vec!["doc_type"], json!("XYZ"), "doc_type"),
        (
            BillOfLading,
            vec!["goods", "0", "hs_code"],
            json!("8504"),
            "goods[0].hs_code",
        ),
        (
            BillOfLading,
            vec!["issue_date"],
            json!("2026-11-19"),
            "issue_date",
        ),
        (
            CertificateOfOrigin,
            vec!["items", "0", "origin_criterion"],
            json!("RVC4"),
            "items[0].origin_criterion",
        ),
        (
            CertificateOfOrigin,
            vec!["exporter", "country"],
            json!("XX"),
            "exporter.country",
        ),
        (
            CommercialInvoice,
            vec!["currency"],
            json!("USX"),
            "currency",
        ),
        (
            CommercialInvoice,
            vec!["incoterm"],
            json!("DAT"),
            "incoterm",
        ),
        (
            CommercialInvoice,
            vec!["line_total"],
            json!("412500.51"),
            "line_total",
        ),
        (
            CommercialInvoice,
            vec!["grand_total"],
            json!("415600.49"),
            "grand_total",
        ),
        (
            CommercialInvoice,
            vec!["lines", "0", "amount"],
            json!(410000.0),
            "lines[0].amount",
        ),
        (
            CommercialInvoice,
            vec!["lines", "0", "amount"],
            json!("410000.001"),
            "lines[0].amount",
        ),
        (
            LetterOfCredit,
            vec!["latest_shipment"],
            json!("270201"),
            "expiry_date",
        ),
        (
            LetterOfCredit,
            vec!["available_with"],
            json!("BKCHXXBJ"),
            "available_with",
        ),
        (
            LetterOfCredit,
            vec!["issue_date"],
            json!("261301"),
            "issue_date",
        ),
        (
            PaymentInstruction,
            vec!["uetr"],
            json!("EB6305C9-1F7F-49DE-AED0-16487C27B42D"),
            "uetr",
        ),
        (
            PaymentInstruction,
            vec!["charge_bearer"],
            json!("OUR"),
            "charge_bearer",
        ),
        (
            PaymentInstruction,
            vec!["debtor_account"],
            json!("GB82WEST12345698765433"),
            "debtor_account",
        ),
        (
            PaymentInstruction,
            vec!["created_at"],
            json!("2026-11-28 10:30"),
            "created_at",
        ),
        (
            CustomsDeclaration,
            vec!["goods", "0", "containers"],
            json!(["MSKU9070324"]),
            "goods[0].containers[0]",
        ),
        (
            PackingList,
            vec!["packages", "0", "count"],
            json!(0),
            "packages[0].count",
        ),
    ];
    for (kind, path, value, field) in cases {
        let doc = with(kind, &path, value);
        assert_eq!(field_of(check(kind, &doc)), field, "{kind} {path:?}");
    }
}

#[test]
fn errors_do_not_echo_values() {
    let doc = with(
        DocumentKind::PaymentInstruction,
        &["debtor_agent"],
        serde_json::json!("SECRET99X"),
    );
    let e = check(DocumentKind::PaymentInstruction, &doc).unwrap_err();
    assert!(!e.to_string().contains("SECRET"), "{e}");
}

#[test]
fn jpy_has_no_decimals() {
    let doc = with(
        DocumentKind::PaymentInstruction,
        &["currency"],
        serde_json::json!("JPY"),
    );
    assert_eq!(
        field_of(check(DocumentKind::PaymentInstruction, &doc)),
        "amount"
    );
    let mut doc = doc;
    doc["amount"] = serde_json::json!("415600");
    check(DocumentKind::PaymentInstruction, &doc).unwrap();
}
