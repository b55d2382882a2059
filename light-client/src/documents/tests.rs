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

/// The outcome of `kind`'s example with the value at `path` replaced (removed for `null`):
/// `Ok`, or the error's field and problem.
fn outcome(
    kind: DocumentKind,
    path: &[&str],
    v: serde_json::Value,
) -> Result<(), (String, String)> {
    check(kind, &with(kind, path, v)).map_err(|e| (e.field, e.problem))
}

#[track_caller]
fn accepted(kind: DocumentKind, path: &[&str], v: serde_json::Value) {
    assert_eq!(
        outcome(kind, path, v.clone()),
        Ok(()),
        "{kind} {path:?} = {v}"
    );
}

#[track_caller]
fn refused(kind: DocumentKind, path: &[&str], v: serde_json::Value, field: &str, problem: &str) {
    assert_eq!(
        outcome(kind, path, v.clone()),
        Err((field.to_owned(), problem.to_owned())),
        "{kind} {path:?} = {v}"
    );
}

#[test]
fn a_payload_is_a_map() {
    for kind in DocumentKind::ALL {
        let e = validate(kind, &Value::Integer(1.into())).unwrap_err();
        assert_eq!(
            (e.kind, e.field.as_str(), e.problem.as_str()),
            (kind, "(payload)", "must be a map")
        );
    }
    check(DocumentKind::Generic, &serde_json::json!({})).unwrap();
}

#[test]
fn text_takes_its_maximum_in_characters_and_refuses_one_more() {
    use serde_json::json;
    let kind = DocumentKind::BillOfLading;
    accepted(kind, &["bl_number"], json!("A".repeat(20)));
    // Characters, not bytes: 20 two-byte characters fit.
    accepted(kind, &["bl_number"], json!("é".repeat(20)));
    refused(
        kind,
        &["bl_number"],
        json!("A".repeat(21)),
        "bl_number",
        "is longer than 20 characters",
    );
    refused(
        kind,
        &["bl_number"],
        json!(" \t "),
        "bl_number",
        "must not be empty",
    );
    refused(kind, &["bl_number"], json!(20), "bl_number", "must be text");
    refused(
        kind,
        &["goods", "0", "description"],
        json!("x".repeat(513)),
        "goods[0].description",
        "is longer than 512 characters",
    );
}

#[test]
fn counts_are_positive_whole_numbers() {
    use serde_json::json;
    let kind = DocumentKind::BillOfLading;
    accepted(kind, &["goods", "0", "packages"], json!(1));
    for bad in [json!(0), json!(-1)] {
        refused(
            kind,
            &["goods", "0", "packages"],
            bad,
            "goods[0].packages",
            "must be a positive whole number",
        );
    }
    refused(
        kind,
        &["goods", "0", "packages"],
        json!("12"),
        "goods[0].packages",
        "must be a whole number",
    );
    accepted(kind, &["to_order"], json!(false));
    refused(
        kind,
        &["to_order"],
        json!("yes"),
        "to_order",
        "must be true or false",
    );
}

#[test]
fn amounts_are_decimal_strings_or_whole_numbers() {
    use serde_json::json;
    let kind = DocumentKind::BillOfLading;
    let at = ["goods", "0", "gross_kg"];
    accepted(kind, &at, json!(18250));
    accepted(kind, &at, json!("18250,5"));
    refused(
        kind,
        &at,
        json!(18250.5),
        "goods[0].gross_kg",
        "must be a decimal string, not a binary float",
    );
    refused(
        kind,
        &at,
        json!("18 250"),
        "goods[0].gross_kg",
        "is not a decimal amount",
    );
    refused(
        kind,
        &at,
        json!(true),
        "goods[0].gross_kg",
        "must be a decimal amount",
    );
}

#[test]
fn an_amount_has_no_more_decimals_than_its_currency_but_may_end_in_zeros() {
    use serde_json::json;
    let kind = DocumentKind::PaymentInstruction;
    let in_currency = |currency: &str, amount: &str| {
        let mut doc = example(kind);
        doc["currency"] = json!(currency);
        doc["amount"] = json!(amount);
        check(kind, &doc).map_err(|e| (e.field, e.problem))
    };
    assert_eq!(in_currency("JPY", "415600"), Ok(()));
    assert_eq!(in_currency("JPY", "415600.00"), Ok(()));
    assert_eq!(
        in_currency("JPY", "415600.50"),
        Err((
            "amount".into(),
            "has more decimals than the currency's 0".into()
        ))
    );
    assert_eq!(in_currency("KWD", "1.2340"), Ok(()));
    assert_eq!(
        in_currency("KWD", "1.2345"),
        Err((
            "amount".into(),
            "has more decimals than the currency's 3".into()
        ))
    );
}

#[test]
fn lists_of_maps() {
    use serde_json::json;
    let kind = DocumentKind::BillOfLading;
    refused(kind, &["goods"], json!([]), "goods", "must not be empty");
    refused(
        kind,
        &["goods"],
        json!("transformers"),
        "goods",
        "must be a list",
    );
    refused(
        kind,
        &["goods"],
        json!(["transformers"]),
        "goods[0]",
        "must be a map",
    );
    // A bill of lading may list no containers (break bulk), but must say so.
    accepted(kind, &["containers"], json!([]));
    refused(
        kind,
        &["containers"],
        json!("CSQU3054383"),
        "containers",
        "must be a list",
    );
}

#[test]
fn parties_are_names_or_maps_with_a_name_and_where_needed_a_country() {
    use serde_json::json;
    let bl = DocumentKind::BillOfLading;
    accepted(bl, &["shipper"], json!("Shanghai Electric Export Co."));
    refused(
        bl,
        &["shipper"],
        json!(7),
        "shipper",
        "must be a name or a map with a name",
    );
    refused(
        bl,
        &["shipper"],
        json!("x".repeat(71)),
        "shipper",
        "is longer than 70 characters",
    );
    refused(
        bl,
        &["shipper"],
        json!({"country": "CN"}),
        "shipper.name",
        "is required",
    );
    accepted(bl, &["shipper", "lei"], json!("5493001KJTIIGC8Y1R12"));
    refused(
        bl,
        &["shipper", "lei"],
        json!("5493001KJTIIGC8Y1R13"),
        "shipper.lei",
        "is not a valid LEI (ISO 17442)",
    );
    let co = DocumentKind::CertificateOfOrigin;
    for not_a_map in [json!("Shanghai Electric Export Co."), json!(7)] {
        refused(
            co,
            &["exporter"],
            not_a_map,
            "exporter",
            "must be a map with name and country",
        );
    }
    refused(
        co,
        &["exporter", "country"],
        serde_json::Value::Null,
        "exporter.country",
        "is required",
    );
}

#[test]
fn containers_are_numbers_or_maps_with_a_number() {
    use serde_json::json;
    let bl = DocumentKind::BillOfLading;
    // The number is found by its key, whatever other text the map holds before it.
    accepted(
        bl,
        &["containers"],
        json!([{"kind": "40HC", "number": "CSQU3054383"}, "MSKU9070323"]),
    );
    refused(
        bl,
        &["containers"],
        json!(["CSQU3054383", {"kind": "CSQU3054383"}]),
        "containers[1]",
        "is not an ISO 6346 container number with a valid check digit",
    );
    refused(
        bl,
        &["containers"],
        json!([3054383]),
        "containers[0]",
        "is not an ISO 6346 container number with a valid check digit",
    );
    // Optional where the kind does not require them, and checked when given.
    accepted(
        DocumentKind::PackingList,
        &["containers"],
        serde_json::Value::Null,
    );
    refused(
        DocumentKind::PackingList,
        &["containers"],
        json!(["CSQU3054384"]),
        "containers[0]",
        "is not an ISO 6346 container number with a valid check digit",
    );
    accepted(
        DocumentKind::CustomsDeclaration,
        &["goods", "0", "containers"],
        serde_json::Value::Null,
    );
}

#[test]
fn bill_of_lading_codes_and_dates() {
    use serde_json::json;
    let bl = DocumentKind::BillOfLading;
    for good in ["CO", "COSU"] {
        accepted(bl, &["carrier_code"], json!(good));
    }
    for bad in ["C", "COSUX", "cosu", "CO1"] {
        refused(
            bl,
            &["carrier_code"],
            json!(bad),
            "carrier_code",
            "is not a SCAC or SMDG carrier code",
        );
    }
    // Issued the day the goods went on board: fine. Before: only for a sea waybill.
    accepted(bl, &["issue_date"], json!("2026-11-20"));
    let mut waybill = with(bl, &["issue_date"], json!("2026-11-19"));
    waybill["doc_type"] = json!("SWB");
    check(bl, &waybill).unwrap();
    refused(
        bl,
        &["issue_date"],
        json!("2026-11-19"),
        "issue_date",
        "is before on_board_date",
    );
    refused(
        bl,
        &["on_board_date"],
        json!("2026-11-31"),
        "on_board_date",
        "is not an ISO 8601 date (YYYY-MM-DD)",
    );
    accepted(
        bl,
        &["doc_hash"],
        json!("9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"),
    );
    for bad in [
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0g",
    ] {
        refused(
            bl,
            &["doc_hash"],
            json!(bad),
            "doc_hash",
            "is not a SHA-256 hash in hex",
        );
    }
}

#[test]
fn origin_criteria() {
    use serde_json::json;
    let co = DocumentKind::CertificateOfOrigin;
    let at = ["items", "0", "origin_criterion"];
    for good in ["WO", "PE", "CTC", "CTH", "CTSH", "RVC40"] {
        accepted(co, &at, json!(good));
    }
    for bad in ["RVC", "RVC4", "RVC400", "RVCAB", "XX"] {
        refused(
            co,
            &at,
            json!(bad),
            "items[0].origin_criterion",
            "is not an origin criterion (WO, PE, CTC, CTH, CTSH, RVCnn)",
        );
    }
}

#[test]
fn invoice_sums_at_any_scale() {
    use serde_json::json;
    let kind = DocumentKind::CommercialInvoice;
    let mut doc = example(kind);
    doc["lines"][0]["amount"] = json!("410000");
    doc["lines"][1]["amount"] = json!("2500.5");
    check(kind, &doc).unwrap();
    // 412500.50 + 3100.00 - 100 + 0.00.
    doc["allowances"] = json!("100");
    assert_eq!(check(kind, &doc).unwrap_err().field, "grand_total");
    doc["grand_total"] = json!("415500.5");
    check(kind, &doc).unwrap();
    doc["tax_total"] = json!("0.01");
    let e = check(kind, &doc).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.problem.as_str()),
        (
            "grand_total",
            "is not line_total + charges - allowances + tax_total"
        )
    );
    refused(
        kind,
        &["line_total"],
        json!("412500.49"),
        "line_total",
        "is not the sum of the line amounts",
    );
}

#[test]
fn a_credit_may_ship_the_day_it_is_issued_and_expire_the_day_of_the_last_shipment() {
    use serde_json::json;
    let kind = DocumentKind::LetterOfCredit;
    accepted(kind, &["latest_shipment"], json!("261101"));
    refused(
        kind,
        &["latest_shipment"],
        json!("261031"),
        "latest_shipment",
        "is before issue_date (31C <= 44C)",
    );
    accepted(kind, &["expiry_date"], json!("261215"));
    refused(
        kind,
        &["expiry_date"],
        json!("261214"),
        "expiry_date",
        "is before latest_shipment (44C <= 31D)",
    );
    refused(
        kind,
        &["issue_date"],
        json!("2026-11-01"),
        "issue_date",
        "is longer than 6 characters",
    );
}

#[test]
fn a_payment_is_positive_with_at_most_18_digits_and_5_decimals() {
    use serde_json::json;
    let kind = DocumentKind::PaymentInstruction;
    let problem = "must be positive with at most 18 digits and 5 decimals";
    for good in [
        "1.00000",
        "999999999999999999",
        "99999999999999999.9",
        "0.01",
    ] {
        accepted(kind, &["amount"], json!(good));
    }
    for bad in ["1.000000", "100000000000000000.0", "0", "0.00", "-1.00"] {
        refused(kind, &["amount"], json!(bad), "amount", problem);
    }
}

#[test]
fn payment_accounts_that_look_like_ibans_are_checked_as_ibans() {
    use serde_json::json;
    let kind = DocumentKind::PaymentInstruction;
    for account in ["debtor_account", "creditor_account"] {
        accepted(kind, &[account], json!("GB82WEST12345698765432"));
        // Not starting with a country code: an account number of another scheme.
        accepted(kind, &[account], json!("0532013000"));
        refused(
            kind,
            &[account],
            json!("DE89370400440532013001"),
            account,
            "is not a valid IBAN (mod 97 check)",
        );
    }
    accepted(kind, &["settlement_method"], serde_json::Value::Null);
    refused(
        kind,
        &["settlement_method"],
        json!("SWIFT"),
        "settlement_method",
        "is not one of INDA, INGA, COVE, CLRG",
    );
    refused(
        kind,
        &["tx_count"],
        json!(0),
        "tx_count",
        "must be a positive whole number",
    );
}

#[test]
fn customs_function_codes_and_invoice_decimals() {
    use serde_json::json;
    let kind = DocumentKind::CustomsDeclaration;
    accepted(kind, &["function_code"], json!("10"));
    for bad in ["123", "A", "1A"] {
        refused(
            kind,
            &["function_code"],
            json!(bad),
            "function_code",
            "is not a numeric function code (n..2)",
        );
    }
    accepted(kind, &["invoice_amount"], json!("1.123"));
    refused(
        kind,
        &["invoice_amount"],
        json!("1.1234"),
        "invoice_amount",
        "has more than 3 decimals (n..16,3)",
    );
    accepted(kind, &["mrn"], json!("26PK000000000000001"));
    refused(kind, &["mrn"], json!(""), "mrn", "must not be empty");
}
