//! TLS 1.3 with ed25519 identities pinned by public key (NOTES.md, "Relay QUIC: mutual TLS
//! with pinned ed25519 keys").
//!
//! Each relay presents a self-signed certificate for its ed25519 key. No CA is involved: a
//! peer is accepted when the key in its certificate is in the allowlist (and, when dialling,
//! is the key we meant to reach), and when its handshake signature verifies under that key.
//! The certificate's own signature, names and dates carry no meaning here.

use std::{fmt, sync::Arc};

use ed25519_dalek::{pkcs8::EncodePrivateKey, SigningKey, VerifyingKey};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{CryptoProvider, WebPkiSupportedAlgorithms},
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime},
    server::danger::{ClientCertVerified, ClientCertVerifier},
    CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme,
};

use crate::{TransportError, ALPN};

/// DER header of an ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { SEQUENCE { OID
/// 1.3.101.112 }, BIT STRING (0 unused bits) }, followed by the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Server name sent when dialling; the verifier ignores it (peers are named by key).
pub(crate) const SERVER_NAME: &str = "corridor.invalid";

/// Our certificate and private key, derived from the relay key.
pub(crate) struct Identity {
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl Identity {
    pub(crate) fn new(key: &SigningKey) -> Result<Self, TransportError> {
        let identity =
            |source: Box<dyn std::error::Error + Send + Sync>| TransportError::Identity { source };
        let pkcs8 = key.to_pkcs8_der().map_err(|e| identity(Box::new(e)))?;
        let key = PrivatePkcs8KeyDer::from(pkcs8.as_bytes().to_vec());
        let pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&key, &rcgen::PKCS_ED25519)
            .map_err(|e| identity(Box::new(e)))?;
        let cert = rcgen::CertificateParams::new(Vec::<String>::new())
            .and_then(|params| params.self_signed(&pair))
            .map_err(|e| identity(Box::new(e)))?;
        Ok(Self {
            cert: cert.der().clone(),
            key,
        })
    }

    fn chain(&self) -> Vec<CertificateDer<'static>> {
        vec![self.cert.clone()]
    }

    fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }
}

/// The rustls provider every config is built from (ring; explicit so that a build with
/// aws-lc-rs also enabled does not panic on an ambiguous default).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server side: any peer whose key is in `allowed`, client certificate mandatory.
pub(crate) fn server_config(
    provider: &Arc<CryptoProvider>,
    identity: &Identity,
    allowed: &[[u8; 32]],
    transport: Arc<quinn::TransportConfig>,
) -> Result<quinn::ServerConfig, TransportError> {
    let verifier = Arc::new(PinnedPeers::new(provider, allowed.to_vec(), None));
    let mut tls = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|source| TransportError::Tls { source })?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain(), identity.private_key())
        .map_err(|source| TransportError::Tls { source })?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    // No resumption: every connection presents and proves its key afresh.
    tls.send_tls13_tickets = 0;
    tls.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    let crypto = QuicServerConfig::try_from(tls).map_err(|_| TransportError::InvalidConfig {
        reason: "the TLS provider lacks QUIC's initial cipher suite",
    })?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    server.transport_config(transport);
    Ok(server)
}

/// The client side for one dial: the server must present `expected`, which must also be in
/// `allowed`.
pub(crate) fn client_config(
    provider: &Arc<CryptoProvider>,
    identity: &Identity,
    allowed: &[[u8; 32]],
    expected: [u8; 32],
    transport: Arc<quinn::TransportConfig>,
) -> Result<quinn::ClientConfig, TransportError> {
    let verifier = Arc::new(PinnedPeers::new(provider, allowed.to_vec(), Some(expected)));
    let mut tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|source| TransportError::Tls { source })?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(identity.chain(), identity.private_key())
        .map_err(|source| TransportError::Tls { source })?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.resumption = rustls::client::Resumption::disabled();
    let crypto = QuicClientConfig::try_from(tls).map_err(|_| TransportError::InvalidConfig {
        reason: "the TLS provider lacks QUIC's initial cipher suite",
    })?;
    let mut client = quinn::ClientConfig::new(Arc::new(crypto));
    client.transport_config(transport);
    Ok(client)
}

/// The verified key of an established connection's peer.
///
/// `None` only if quinn reports no certificate, which cannot happen once our verifier (client
/// certificates mandatory) has accepted the handshake.
pub(crate) fn peer_key(conn: &quinn::Connection) -> Option<VerifyingKey> {
    let identity = conn.peer_identity()?;
    let chain = identity.downcast_ref::<Vec<CertificateDer<'static>>>()?;
    let bytes = ed25519_key(chain.first()?).ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// The ed25519 key in a certificate's SubjectPublicKeyInfo.
fn ed25519_key(cert: &CertificateDer<'_>) -> Result<[u8; 32], rustls::Error> {
    let cert = webpki::EndEntityCert::try_from(cert).map_err(|_| CertificateError::BadEncoding)?;
    let spki = cert.subject_public_key_info();
    spki.strip_prefix(&ED25519_SPKI_PREFIX[..])
        .and_then(|key| <[u8; 32]>::try_from(key).ok())
        .ok_or_else(|| Refusal::NotEd25519.into())
}

/// Why the verifier refused a certificate. Its `Debug` is its message, because rustls
/// formats `CertificateError::Other` with `{:?}` and the text reaches the peer and the logs.
enum Refusal {
    NotEd25519,
    NotAllowed { key: [u8; 32] },
    NotExpected { key: [u8; 32], expected: [u8; 32] },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = |key: &[u8; 32]| hex::encode(key);
        match self {
            Self::NotEd25519 => f.write_str("the certificate's key is not an ed25519 key"),
            Self::NotAllowed { key } => {
                write!(
                    f,
                    "ed25519 key {} is not in the corridor peer allowlist",
                    hex(key)
                )
            }
            Self::NotExpected { key, expected } => write!(
                f,
                "ed25519 key {} is not the key {} this relay dialled",
                hex(key),
                hex(expected)
            ),
        }
    }
}

impl fmt::Debug for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Refusal {}

impl From<Refusal> for rustls::Error {
    fn from(refusal: Refusal) -> Self {
        CertificateError::Other(rustls::OtherError(Arc::new(refusal))).into()
    }
}

/// The one verifier for both sides: certificates are judged by their key alone; handshake
/// signatures are really verified under that key (skipping them would let anyone replay a
/// pinned relay's certificate).
struct PinnedPeers {
    allowed: Vec<[u8; 32]>,
    /// When dialling: the only key the server may present.
    expected: Option<[u8; 32]>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedPeers {
    fn new(provider: &CryptoProvider, allowed: Vec<[u8; 32]>, expected: Option<[u8; 32]>) -> Self {
        Self {
            allowed,
            expected,
            algorithms: provider.signature_verification_algorithms,
        }
    }

    fn check(&self, cert: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        let key = ed25519_key(cert)?;
        if let Some(expected) = self.expected {
            if key != expected {
                return Err(Refusal::NotExpected { key, expected }.into());
            }
        }
        if !self.allowed.contains(&key) {
            return Err(Refusal::NotAllowed { key }.into());
        }
        Ok(())
    }
}

impl fmt::Debug for PinnedPeers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedPeers")
            .field(
                "allowed",
                &self.allowed.iter().map(hex::encode).collect::<Vec<_>>(),
            )
            .field("expected", &self.expected.as_ref().map(hex::encode))
            .finish()
    }
}

impl ServerCertVerifier for PinnedPeers {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity)
            .map(|()| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

impl ClientCertVerifier for PinnedPeers {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(end_entity)
            .map(|()| ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay_key_hex;

    #[test]
    fn certificate_carries_the_relay_key() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let identity = Identity::new(&key).expect("identity");
        let found = ed25519_key(&identity.cert).expect("ed25519 key");
        assert_eq!(found, key.verifying_key().to_bytes());
    }

    #[test]
    fn verifier_judges_the_key_and_names_it() {
        let provider = provider();
        let ours = Identity::new(&SigningKey::from_bytes(&[1; 32])).expect("identity");
        let other = SigningKey::from_bytes(&[2; 32]).verifying_key().to_bytes();
        let mine = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();

        let open = PinnedPeers::new(&provider, vec![mine], None);
        assert!(open.check(&ours.cert).is_ok());

        let closed = PinnedPeers::new(&provider, vec![other], None);
        let refused = closed.check(&ours.cert).expect_err("not allowed");
        let text = format!("{refused}");
        assert!(text.contains(&relay_key_hex(
            &SigningKey::from_bytes(&[1; 32]).verifying_key()
        )));
        assert!(
            text.contains("is not in the corridor peer allowlist"),
            "{text}"
        );

        let dialled = PinnedPeers::new(&provider, vec![mine, other], Some(other));
        let refused = dialled.check(&ours.cert).expect_err("not the dialled key");
        assert!(format!("{refused}").contains("is not the key"), "{refused}");
    }

    /// Presents `cert` but signs the handshake with `signer`: a relay replaying another's
    /// certificate.
    #[derive(Debug)]
    struct Replay(Arc<rustls::sign::CertifiedKey>);

    impl rustls::client::ResolvesClientCert for Replay {
        fn resolve(
            &self,
            _hints: &[&[u8]],
            _schemes: &[SignatureScheme],
        ) -> Option<Arc<rustls::sign::CertifiedKey>> {
            Some(self.0.clone())
        }

        fn has_certs(&self) -> bool {
            true
        }
    }

    /// A raw client presenting `cert_of`'s certificate, signing with `signer`, dialling a
    /// server with key `server`; returns what the server's `accept` made of it.
    async fn replayed(
        cert_of: &SigningKey,
        signer: &SigningKey,
    ) -> Result<crate::Link, TransportError> {
        let server_key = SigningKey::from_bytes(&[2; 32]);
        let loopback = "127.0.0.1:0".parse().expect("address");
        let server = crate::Endpoint::bind(
            loopback,
            &server_key,
            vec![cert_of.verifying_key()],
            crate::TransportConfig::default(),
        )
        .expect("bind");
        let server_addr = server.local_addr().expect("addr");

        let provider = provider();
        let signing = provider
            .key_provider
            .load_private_key(Identity::new(signer).expect("identity").private_key())
            .expect("signing key");
        let certified = rustls::sign::CertifiedKey::new(
            Identity::new(cert_of).expect("identity").chain(),
            signing,
        );
        let server_bytes = server_key.verifying_key().to_bytes();
        let verifier = Arc::new(PinnedPeers::new(&provider, vec![server_bytes], None));
        let mut tls = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("tls 1.3")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_cert_resolver(Arc::new(Replay(Arc::new(certified))));
        tls.alpn_protocols = vec![ALPN.to_vec()];
        let crypto = QuicClientConfig::try_from(tls).expect("quic tls");
        let client = quinn::Endpoint::client(loopback).expect("client");

        let dial = async {
            let conn = client
                .connect_with(
                    quinn::ClientConfig::new(Arc::new(crypto)),
                    server_addr,
                    SERVER_NAME,
                )
                .expect("dial")
                .await?;
            // Play the hello exchange by hand, claiming the certificate's key.
            let (mut send, mut recv) = conn.open_bi().await?;
            let hello = crate::Hello::new(&cert_of.verifying_key(), vec![]).encode();
            let len = u32::try_from(hello.len()).expect("small");
            send.write_all(&len.to_be_bytes())
                .await
                .map_err(std::io::Error::from)?;
            send.write_all(&hello).await.map_err(std::io::Error::from)?;
            send.finish().map_err(std::io::Error::other)?;
            recv.read_to_end(1 << 16)
                .await
                .map_err(std::io::Error::other)?;
            Ok::<_, Box<dyn std::error::Error>>(conn)
        };
        let server_hello = crate::Hello::new(&server_key.verifying_key(), vec![]);
        let accept = server.accept(&server_hello);
        let wait = std::time::Duration::from_secs(10);
        let (_dialled, accepted) = tokio::time::timeout(wait, async { tokio::join!(dial, accept) })
            .await
            .expect("in time");
        accepted.expect("endpoint open")
    }

    #[tokio::test]
    async fn handshake_signatures_are_really_verified() {
        let (a, b) = (
            SigningKey::from_bytes(&[1; 32]),
            SigningKey::from_bytes(&[9; 32]),
        );
        // Control: the raw client with its own key and certificate is accepted.
        let link = replayed(&a, &a).await.expect("own certificate accepted");
        assert_eq!(link.peer_key(), a.verifying_key());
        // b replays a's pinned certificate but cannot sign as a.
        let err = replayed(&a, &b)
            .await
            .expect_err("replayed certificate refused");
        assert_eq!(err.reason(), "handshake");
        assert!(err.to_string().contains("BadSignature"), "{err}");
    }
}
