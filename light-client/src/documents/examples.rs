//! One well-formed example document per kind, for tests, the devnet demo's traders and the
//! API documentation. They pass [`super::validate`].

use serde_json::{json, Value};

use crate::envelope::DocumentKind;

/// A valid example payload of `kind` (as JSON; encode with
/// [`crate::envelope::payload_from_json`]).
pub fn example(kind: DocumentKind) -> Value {
    match kind {
        DocumentKind::BillOfLading => json!({
            "bl_number": "CSHKHI2611280001", "doc_type": "BOL", "carrier_code": "COSU",
            "to_order": true,
            "shipper": { "name": "Shanghai Electric Export Co." },
            "consignee": { "name": "Karachi Power Traders Ltd." },
            "port_of_loading": "CNSHA", "port_of_discharge": "PKKHI",
            "vessel": "COSCO HARMONY", "voyage": "112W",
            "on_board_date": "2026-11-20", "issue_date": "2026-11-21",
            "goods": [{ "description": "Transformers, liquid dielectric", "hs_code": "850421",
                        "gross_kg": "18250.5", "packages": 12 }],
            "containers": [{ "number": "CSQU3054383", "seals": ["SH-221903"] }],
            "doc_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        }),
        DocumentKind::CertificateOfOrigin => json!({
            "co_number": "E2611CN0001234", "agreement": "ACFTA",
            "exporter": { "name": "Shanghai Electric Export Co.", "country": "CN" },
            "consignee": { "name": "Karachi Power Traders Ltd.", "country": "PK" },
            "port_of_discharge": "PKKHI", "departure_date": "2026-11-20",
            "items": [{ "hs_code": "850421", "origin_criterion": "WO", "origin_country": "CN",
                        "quantity": "12 PCE" }],
            "invoice_number": "INV-2026-0042", "issuer": "CCPIT Shanghai",
            "issue_date": "2026-11-19"
        }),
        DocumentKind::CommercialInvoice => json!({
            "invoice_number": "INV-2026-0042", "issue_date": "2026-11-19",
            "seller": { "name": "Shanghai Electric Export Co.", "country": "CN" },
            "buyer": { "name": "Karachi Power Traders Ltd.", "country": "PK" },
            "currency": "USD", "incoterm": "CIF", "incoterm_place": "PKKHI",
            "lines": [
                { "description": "Transformer 2 MVA", "hs_code": "850421", "qty": "10",
                  "unit": "C62", "price": "41000.00", "amount": "410000.00" },
                { "description": "Spare bushings", "hs_code": "853590", "qty": "2",
                  "unit": "C62", "price": "1250.25", "amount": "2500.50" }
            ],
            "line_total": "412500.50", "tax_total": "0.00", "charges": "3100.00",
            "grand_total": "415600.50", "lc_ref": "LC26KHI0042"
        }),
        DocumentKind::LetterOfCredit => json!({
            "credit_number": "LC26KHI0042", "form": "IRREVOCABLE", "issue_date": "261101",
            "rules": "UCP LATEST VERSION", "expiry_date": "270131", "expiry_place": "KARACHI",
            "applicant": "Karachi Power Traders Ltd., Karachi",
            "beneficiary": "Shanghai Electric Export Co., Shanghai",
            "currency": "USD", "amount": "420000,00", "tolerance": "05/05",
            "available_with": "BKCHCNBJ300", "available_by": "BY NEGOTIATION",
            "partial_shipments": "NOT ALLOWED", "transhipment": "ALLOWED",
            "latest_shipment": "261215", "goods": "10 transformers 2 MVA, CIF Karachi",
            "documents_required": "Full set of clean on board bills of lading; invoice; certificate of origin Form E",
            "confirmation": "WITHOUT"
        }),
        DocumentKind::PaymentInstruction => json!({
            "msg_id": "PKB20261128-0001", "created_at": "2026-11-28T10:30:00+05:00",
            "tx_count": 1, "settlement_method": "INDA", "end_to_end_id": "INV-2026-0042",
            "uetr": "eb6305c9-1f7f-49de-aed0-16487c27b42d", "amount": "415600.50",
            "currency": "USD", "value_date": "2026-11-30", "charge_bearer": "SHAR",
            "debtor": { "name": "Karachi Power Traders Ltd." },
            "creditor": { "name": "Shanghai Electric Export Co." },
            "debtor_agent": "HABBPKKA", "creditor_agent": "BKCHCNBJ300",
            "remittance": "INV-2026-0042 under LC26KHI0042"
        }),
        DocumentKind::CustomsDeclaration => json!({
            "declaration_type": "IM", "function_code": "9", "lrn": "KHI-26-000981",
            "customs_office": "PKKHI01", "declarant": "PK1234567", "exporter": "CN9876543",
            "importer": "PK7654321",
            "goods": [{ "description": "Transformers, liquid dielectric", "hs_code": "85042100",
                        "origin": "CN", "gross_mass": "18250.5", "net_mass": "17100",
                        "packages": 12, "package_type": "CS", "containers": ["CSQU3054383"] }],
            "invoice_amount": "415600.500", "currency": "USD", "incoterm": "CIF",
            "procedure_code": "4000", "border_mode": "1"
        }),
        DocumentKind::PackingList => json!({
            "packing_list_number": "PL-2026-0042", "issue_date": "2026-11-19",
            "consignor": "Shanghai Electric Export Co.", "consignee": "Karachi Power Traders Ltd.",
            "invoice_ref": "INV-2026-0042",
            "packages": [{ "marks": "KPT/KHI/1-12", "type": "CS", "count": 12,
                           "items": [{ "hs_code": "850421", "qty": "10" }],
                           "gross_kg": "18250.5", "net_kg": "17100", "volume_m3": "96.4" }],
            "containers": ["CSQU3054383"]
        }),
        DocumentKind::Generic => json!({ "title": "Inspection report", "pages": 3 }),
    }
}
