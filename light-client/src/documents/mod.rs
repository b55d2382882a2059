//! Field-level validation of trade documents, from TRADE-DOCS.md.
//!
//! A payload is a CBOR map. [`validate`] checks, for its [`DocumentKind`], that every
//! required field is there and well formed: dates, code lists (ISO 3166, ISO 4217 with its
//! minor units, UN/LOCODE, HS, Incoterms 2020, the standards' own code values), check
//! digits (ISO 6346 containers, LEI, IBAN), identifiers (BIC, UETR), the invoice's sums and
//! the credit's date order (31C <= 44C <= 31D). An error names the field by path, such as
//! `goods[2].hs_code`, and never echoes the field's value (documents are confidential).
//!
//! Amounts are decimal strings (`"1234.50"`; SWIFT's `"1234,50"` is accepted too) so no
//! binary float ever rounds money. Parties are a name string or a map with a `name`.

pub mod codes;
#[cfg(feature = "testkit")]
pub mod examples;

use ciborium::Value;

use crate::envelope::DocumentKind;
use codes::*;

/// A document field that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} field {field}: {problem}")]
pub struct DocumentError {
    /// The document kind.
    pub kind: DocumentKind,
    /// Path of the field, e.g. `lines[0].amount`.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

type Res<T> = Result<T, DocumentError>;

/// Checks a decoded payload against its kind's rules.
pub fn validate(kind: DocumentKind, doc: &Value) -> Res<()> {
    let d = Doc::root(kind, doc)?;
    match kind {
        DocumentKind::BillOfLading => bill_of_lading(&d),
        DocumentKind::CertificateOfOrigin => certificate_of_origin(&d),
        DocumentKind::CommercialInvoice => commercial_invoice(&d),
        DocumentKind::LetterOfCredit => letter_of_credit(&d),
        DocumentKind::PaymentInstruction => payment_instruction(&d),
        DocumentKind::CustomsDeclaration => customs_declaration(&d),
        DocumentKind::PackingList => packing_list(&d),
        DocumentKind::Generic => Ok(()),
    }
}

/// A map being checked, with its path for error messages.
struct Doc<'a> {
    kind: DocumentKind,
    path: String,
    entries: &'a [(Value, Value)],
}

impl<'a> Doc<'a> {
    fn root(kind: DocumentKind, v: &'a Value) -> Res<Self> {
        match v {
            Value::Map(entries) => Ok(Self {
                kind,
                path: String::new(),
                entries,
            }),
            _ => Err(DocumentError {
                kind,
                field: "(payload)".into(),
                problem: "must be a map".into(),
            }),
        }
    }

    fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn err<T>(&self, key: &str, problem: impl Into<String>) -> Res<T> {
        Err(DocumentError {
            kind: self.kind,
            field: self.field(key),
            problem: problem.into(),
        })
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.entries
            .iter()
            .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
            .map(|(_, v)| v)
    }

    fn req(&self, key: &str) -> Res<&'a Value> {
        match self.get(key) {
            Some(v) => Ok(v),
            None => self.err(key, "is required"),
        }
    }

    fn text(&self, key: &str, max: usize) -> Res<&'a str> {
        match self.req(key)? {
            Value::Text(t) if t.trim().is_empty() => self.err(key, "must not be empty"),
            Value::Text(t) if t.chars().count() > max => {
                self.err(key, format!("is longer than {max} characters"))
            }
            Value::Text(t) => Ok(t),
            _ => self.err(key, "must be text"),
        }
    }

    fn code(&self, key: &str, ok: impl Fn(&str) -> bool, what: &str) -> Res<&'a str> {
        let t = self.text(key, 64)?;
        if ok(t) {
            Ok(t)
        } else {
            self.err(key, format!("is not {what}"))
        }
    }

    fn one_of(&self, key: &str, allowed: &[&str]) -> Res<&'a str> {
        self.code(
            key,
            |t| allowed.contains(&t),
            &format!("one of {}", allowed.join(", ")),
        )
    }

    fn date(&self, key: &str) -> Res<u32> {
        let t = self.text(key, 10)?;
        iso_date(t).map_or_else(|| self.err(key, "is not an ISO 8601 date (YYYY-MM-DD)"), Ok)
    }

    fn swift_date(&self, key: &str) -> Res<u32> {
        let t = self.text(key, 6)?;
        swift_date(t).map_or_else(|| self.err(key, "is not a SWIFT date (YYMMDD)"), Ok)
    }

    fn boolean(&self, key: &str) -> Res<bool> {
        match self.req(key)? {
            Value::Bool(b) => Ok(*b),
            _ => self.err(key, "must be true or false"),
        }
    }

    fn count(&self, key: &str) -> Res<u64> {
        match self.req(key)? {
            Value::Integer(i) => match u64::try_from(*i) {
                Ok(n) if n > 0 => Ok(n),
                _ => self.err(key, "must be a positive whole number"),
            },
            _ => self.err(key, "must be a whole number"),
        }
    }

    /// A decimal amount; with a currency, its decimals must not exceed the minor unit.
    fn amount(&self, key: &str, currency: Option<&str>) -> Res<(i128, u32)> {
        let (value, scale) = match self.req(key)? {
            Value::Text(t) => match decimal(t) {
                Some(d) => d,
                None => return self.err(key, "is not a decimal amount"),
            },
            Value::Integer(i) => (i128::from(*i), 0),
            Value::Float(_) => {
                return self.err(key, "must be a decimal string, not a binary float")
            }
            _ => return self.err(key, "must be a decimal amount"),
        };
        if let Some(minor) = currency.and_then(currency_minor_units) {
            // At or below the minor unit, `unit` is 1 and divides every value: no separate
            // `scale > minor` test is needed.
            let unit = 10i128.saturating_pow(scale.saturating_sub(minor));
            if value.checked_rem(unit) != Some(0) {
                return self.err(
                    key,
                    format!("has more decimals than the currency's {minor}"),
                );
            }
        }
        Ok((value, scale))
    }

    fn array(&self, key: &str, non_empty: bool) -> Res<&'a [Value]> {
        match self.req(key)? {
            Value::Array(items) if non_empty && items.is_empty() => {
                self.err(key, "must not be empty")
            }
            Value::Array(items) => Ok(items),
            _ => self.err(key, "must be a list"),
        }
    }

    /// The maps of a list, each with its indexed path.
    fn maps(&self, key: &str) -> Res<Vec<Self>> {
        self.array(key, true)?
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Map(entries) => Ok(Doc {
                    kind: self.kind,
                    path: format!("{}[{i}]", self.field(key)),
                    entries,
                }),
                _ => self.err(&format!("{key}[{i}]"), "must be a map"),
            })
            .collect()
    }

    fn sub(&self, key: &str) -> Res<Self> {
        match self.req(key)? {
            Value::Map(entries) => Ok(Doc {
                kind: self.kind,
                path: self.field(key),
                entries,
            }),
            _ => self.err(key, "must be a map"),
        }
    }

    /// A party: a name string, or a map with `name` (and `country` if `country` is set).
    fn party(&self, key: &str, max_name: usize, country: bool) -> Res<()> {
        match self.req(key)? {
            Value::Text(_) if !country => self.text(key, max_name).map(|_| ()),
            Value::Map(_) => {
                let p = self.sub(key)?;
                p.text("name", max_name)?;
                if country {
                    p.code("country", is_country, "an ISO 3166-1 alpha-2 country")?;
                }
                if p.get("lei").is_some() {
                    p.code("lei", is_lei, "a valid LEI (ISO 17442)")?;
                }
                Ok(())
            }
            _ if country => self.err(key, "must be a map with name and country"),
            _ => self.err(key, "must be a name or a map with a name"),
        }
    }

    /// Container numbers: strings, or maps with `number` (and optional `seals`).
    fn containers(&self, key: &str, required: bool) -> Res<()> {
        if !required && self.get(key).is_none() {
            return Ok(());
        }
        for (i, v) in self.array(key, false)?.iter().enumerate() {
            let number = match v {
                Value::Text(t) => Some(t.as_str()),
                Value::Map(m) => m.iter().find_map(|(k, v)| match (k, v) {
                    (Value::Text(k), Value::Text(n)) if k == "number" => Some(n.as_str()),
                    _ => None,
                }),
                _ => None,
            };
            if !number.is_some_and(is_container) {
                return self.err(
                    &format!("{key}[{i}]"),
                    "is not an ISO 6346 container number with a valid check digit",
                );
            }
        }
        Ok(())
    }
}

fn bill_of_lading(d: &Doc<'_>) -> Res<()> {
    d.text("bl_number", 20)?;
    d.one_of("doc_type", &["BOL", "SWB"])?;
    d.code(
        "carrier_code",
        |c| (2..=4).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_uppercase()),
        "a SCAC or SMDG carrier code",
    )?;
    d.boolean("to_order")?;
    d.party("shipper", 70, false)?;
    d.party("consignee", 70, false)?;
    d.code("port_of_loading", is_locode, "a UN/LOCODE")?;
    d.code("port_of_discharge", is_locode, "a UN/LOCODE")?;
    d.text("vessel", 50)?;
    d.text("voyage", 50)?;
    let on_board = d.date("on_board_date")?;
    let issued = d.date("issue_date")?;
    if issued < on_board && d.one_of("doc_type", &["BOL"]).is_ok() {
        // A shipped bill is issued once the goods are on board.
        return d.err("issue_date", "is before on_board_date");
    }
    for g in d.maps("goods")? {
        g.text("description", 512)?;
        g.code(
            "hs_code",
            |c| is_hs_code(c, 12),
            "an HS code of 6 to 12 digits",
        )?;
        g.amount("gross_kg", None)?;
        g.count("packages")?;
    }
    d.containers("containers", true)?;
    d.code(
        "doc_hash",
        |h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()),
        "a SHA-256 hash in hex",
    )?;
    Ok(())
}

fn certificate_of_origin(d: &Doc<'_>) -> Res<()> {
    d.text("co_number", 35)?;
    d.one_of("agreement", &["RCEP", "ATIGA", "ACFTA", "NONPREF"])?;
    d.party("exporter", 140, true)?;
    d.party("consignee", 140, true)?;
    d.code("port_of_discharge", is_locode, "a UN/LOCODE")?;
    d.date("departure_date")?;
    let criterion = |c: &str| {
        matches!(c, "WO" | "PE" | "CTC" | "CTH" | "CTSH")
            || c.strip_prefix("RVC")
                .is_some_and(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_digit()))
    };
    for item in d.maps("items")? {
        item.code("hs_code", |c| is_hs_code(c, 6), "a 6-digit HS code")?;
        item.code(
            "origin_criterion",
            criterion,
            "an origin criterion (WO, PE, CTC, CTH, CTSH, RVCnn)",
        )?;
        item.code(
            "origin_country",
            is_country,
            "an ISO 3166-1 alpha-2 country",
        )?;
        item.req("quantity")?;
    }
    d.text("invoice_number", 35)?;
    d.text("issuer", 140)?;
    d.date("issue_date")?;
    Ok(())
}

fn commercial_invoice(d: &Doc<'_>) -> Res<()> {
    d.text("invoice_number", 35)?;
    d.date("issue_date")?;
    d.party("seller", 140, true)?;
    d.party("buyer", 140, true)?;
    let currency = d.code(
        "currency",
        |c| currency_minor_units(c).is_some(),
        "an ISO 4217 currency",
    )?;
    d.one_of("incoterm", INCOTERMS)?;
    d.code("incoterm_place", is_locode, "a UN/LOCODE")?;
    let cur = Some(currency);
    let mut sum: (i128, u32) = (0, 0);
    for line in d.maps("lines")? {
        line.text("description", 512)?;
        line.code(
            "hs_code",
            |c| is_hs_code(c, 12),
            "an HS code of 6 to 12 digits",
        )?;
        line.amount("qty", None)?;
        line.text("unit", 3)?;
        line.amount("price", None)?;
        sum = add(sum, line.amount("amount", cur)?);
    }
    let line_total = d.amount("line_total", cur)?;
    if !same(sum, line_total) {
        return d.err("line_total", "is not the sum of the line amounts");
    }
    let mut expected = add(line_total, d.amount("tax_total", cur)?);
    if d.get("charges").is_some() {
        expected = add(expected, d.amount("charges", cur)?);
    }
    if d.get("allowances").is_some() {
        let (v, s) = d.amount("allowances", cur)?;
        expected = add(expected, (v.saturating_neg(), s));
    }
    if !same(expected, d.amount("grand_total", cur)?) {
        return d.err(
            "grand_total",
            "is not line_total + charges - allowances + tax_total",
        );
    }
    Ok(())
}

fn letter_of_credit(d: &Doc<'_>) -> Res<()> {
    d.text("credit_number", 16)?;
    d.one_of("form", &["IRREVOCABLE", "IRREVOCABLE TRANSFERABLE"])?;
    let issued = d.swift_date("issue_date")?;
    d.one_of(
        "rules",
        &[
            "UCP LATEST VERSION",
            "EUCP LATEST VERSION",
            "UCPURR LATEST VERSION",
            "EUCPURR LATEST VERSION",
            "ISP LATEST VERSION",
            "OTHR",
        ],
    )?;
    let expiry = d.swift_date("expiry_date")?;
    d.text("expiry_place", 29)?;
    d.text("applicant", 140)?;
    d.text("beneficiary", 174)?;
    let currency = d.code(
        "currency",
        |c| currency_minor_units(c).is_some(),
        "an ISO 4217 currency",
    )?;
    d.amount("amount", Some(currency))?;
    d.code("available_with", is_bic, "a BIC")?;
    d.one_of(
        "available_by",
        &[
            "BY PAYMENT",
            "BY ACCEPTANCE",
            "BY NEGOTIATION",
            "BY DEF PAYMENT",
            "BY MIXED PYMT",
        ],
    )?;
    d.one_of(
        "partial_shipments",
        &["ALLOWED", "CONDITIONAL", "NOT ALLOWED"],
    )?;
    d.one_of("transhipment", &["ALLOWED", "CONDITIONAL", "NOT ALLOWED"])?;
    let latest = d.swift_date("latest_shipment")?;
    d.text("goods", 6500)?;
    d.text("documents_required", 6500)?;
    d.one_of("confirmation", &["CONFIRM", "MAY ADD", "WITHOUT"])?;
    if latest < issued {
        return d.err("latest_shipment", "is before issue_date (31C <= 44C)");
    }
    if expiry < latest {
        return d.err("expiry_date", "is before latest_shipment (44C <= 31D)");
    }
    Ok(())
}

fn payment_instruction(d: &Doc<'_>) -> Res<()> {
    d.text("msg_id", 35)?;
    let created = d.text("created_at", 35)?;
    if !is_iso_datetime(created) {
        return d.err("created_at", "is not an ISO 8601 date-time");
    }
    d.count("tx_count")?;
    if d.get("settlement_method").is_some() {
        d.one_of("settlement_method", &["INDA", "INGA", "COVE", "CLRG"])?;
    }
    d.text("end_to_end_id", 35)?;
    d.code("uetr", is_uetr, "a lowercase UUIDv4 UETR")?;
    let currency = d.code(
        "currency",
        |c| currency_minor_units(c).is_some(),
        "an ISO 4217 currency",
    )?;
    let (value, scale) = d.amount("amount", Some(currency))?;
    if scale > 5 || value.unsigned_abs() >= 1_000_000_000_000_000_000 || value <= 0 {
        return d.err(
            "amount",
            "must be positive with at most 18 digits and 5 decimals",
        );
    }
    d.date("value_date")?;
    d.one_of("charge_bearer", &["DEBT", "CRED", "SHAR", "SLEV"])?;
    d.party("debtor", 140, false)?;
    d.party("creditor", 140, false)?;
    for account in ["debtor_account", "creditor_account"] {
        if let Some(Value::Text(a)) = d.get(account) {
            if a.get(..2)
                .is_some_and(|c| c.bytes().all(|b| b.is_ascii_uppercase()))
                && !is_iban(a)
            {
                return d.err(account, "is not a valid IBAN (mod 97 check)");
            }
        }
    }
    d.code("debtor_agent", is_bic, "a BIC")?;
    d.code("creditor_agent", is_bic, "a BIC")?;
    if d.get("remittance").is_some() {
        d.text("remittance", 140)?;
    }
    Ok(())
}

fn customs_declaration(d: &Doc<'_>) -> Res<()> {
    d.text("declaration_type", 3)?;
    d.code(
        "function_code",
        |c| (1..=2).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_digit()),
        "a numeric function code (n..2)",
    )?;
    d.text("lrn", 35)?;
    if d.get("mrn").is_some() {
        d.text("mrn", 70)?;
    }
    d.text("customs_office", 17)?;
    d.text("declarant", 17)?;
    d.text("exporter", 17)?;
    d.text("importer", 17)?;
    for g in d.maps("goods")? {
        g.text("description", 512)?;
        g.code(
            "hs_code",
            |c| is_hs_code(c, 18),
            "an HS code of 6 to 18 digits",
        )?;
        g.code("origin", is_country, "an ISO 3166-1 alpha-2 country")?;
        g.amount("gross_mass", None)?;
        g.amount("net_mass", None)?;
        g.count("packages")?;
        g.text("package_type", 2)?;
        g.containers("containers", false)?;
    }
    d.code(
        "currency",
        |c| currency_minor_units(c).is_some(),
        "an ISO 4217 currency",
    )?;
    let (_, scale) = d.amount("invoice_amount", None)?;
    if scale > 3 {
        return d.err("invoice_amount", "has more than 3 decimals (n..16,3)");
    }
    d.one_of("incoterm", INCOTERMS)?;
    d.text("procedure_code", 7)?;
    Ok(())
}

fn packing_list(d: &Doc<'_>) -> Res<()> {
    d.text("packing_list_number", 35)?;
    d.date("issue_date")?;
    d.text("consignor", 140)?;
    d.text("consignee", 140)?;
    d.text("invoice_ref", 35)?;
    for p in d.maps("packages")? {
        p.text("type", 2)?;
        p.count("count")?;
        if p.get("items").is_some() {
            for item in p.maps("items")? {
                item.code(
                    "hs_code",
                    |c| is_hs_code(c, 12),
                    "an HS code of 6 to 12 digits",
                )?;
            }
        }
    }
    d.containers("containers", false)?;
    Ok(())
}

/// Adds two scaled decimals.
fn add(a: (i128, u32), b: (i128, u32)) -> (i128, u32) {
    let scale = a.1.max(b.1);
    (
        rescale(a.0, a.1, scale).saturating_add(rescale(b.0, b.1, scale)),
        scale,
    )
}

/// Whether two scaled decimals are equal.
fn same(a: (i128, u32), b: (i128, u32)) -> bool {
    let scale = a.1.max(b.1);
    rescale(a.0, a.1, scale) == rescale(b.0, b.1, scale)
}

#[cfg(test)]
mod tests;
