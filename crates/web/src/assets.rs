//! Front-end assets built by `build.rs` from npm packages and embedded in the binary. Served at
//! `/assets/<hash>/<name>` with a year of immutable caching: the hash changes whenever any asset
//! does, so a new release never meets a stale cache.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::WebError;

/// One embedded asset.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// The path under `/assets/<hash>/`, for example `mace.css` or `images/x.svg`.
    pub name: &'static str,
    pub content_type: &'static str,
    /// SHA-256 of the bytes, hex.
    pub sha256: &'static str,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Every embedded asset.
pub fn all() -> &'static [Asset] {
    ASSETS
}

/// The asset called `name`, if there is one.
pub fn get(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// The URL of the asset called `name`.
pub fn url(name: &str) -> String {
    format!("/assets/{BUNDLE_HASH}/{name}")
}

pub(crate) async fn serve(
    Path((hash, name)): Path<(String, String)>,
) -> Result<Response, WebError> {
    if hash != BUNDLE_HASH {
        return Err(WebError::NotFound);
    }
    let asset = get(&name).ok_or(WebError::NotFound)?;
    let mut res = asset.bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", &asset.sha256[..32])) {
        h.insert(header::ETAG, etag);
    }
    Ok(res)
}
