//! The mothers' home pages, kept rendered.
//!
//! `GET /me/handbook` is the busiest request: it is made every time a mother opens the
//! mini-program. It takes about fourteen queries to build. Its answer only changes when
//! something it shows changes, or when the day changes (the gestational age and the days to the
//! EDD count from today). So the rendered page is kept per handbook and relation, with:
//! * the handbook's `revision` it was rendered at;
//! * the day it was rendered for.
//!
//! **How the revision moves.** Triggers (migration `000013_handbook_revision`) move the revision
//! on in the same transaction as any insert, update or delete on a table the page reads
//! ([`HOME_PAGE_TABLES`]). That holds whoever writes: this server, a second one, or the command
//! line.
//!
//! **What a request still does.** It authenticates against the database, so a revoked session
//! or a disabled account is refused at once. It checks the caller's link to the handbook and
//! reads the revision (one indexed query). A page is used only when the revision and the day
//! still match; otherwise the page is rebuilt.
//!
//! **Why a page is never stale.** The revision is read before the page's rows, so the rows are
//! at least as new as the revision the page is stored under. If they are newer, the stored
//! revision is already behind the database's and the page is never used. A page is therefore
//! used only while nothing it shows of the handbook has changed since it was rendered. The names
//! of institutions and regions on it are the exception: they carry no revision, and a page is
//! rebuilt every day, so a rename shows from the next day.

use actix_web::{http::header, web::Bytes, HttpResponse};
use chrono::NaiveDate;
use quick_cache::{sync::Cache, Weighter};
use serde::Serialize;

use crate::scope::Relation;
use crate::{error::AppError, http::conditional::body_tag};

/// The tables the home page reads for the handbook (institution and region names aside: a page
/// is rebuilt every day, so a renamed clinic or village shows from the next day). Each carries `handbook_id` and the triggers that move the
/// handbook's revision on (`handbooks` moves its own). A table added to the page must be added
/// here and to the migration; `tests/api/home_cache.rs` checks that each has its triggers.
pub const HOME_PAGE_TABLES: &[&str] = &[
    "handbooks",
    "pregnancies",
    "checkups",
    "lab_results",
    "ultrasounds",
    "pregnancy_risk",
    "children",
];

/// A rendered page: the JSON body, its ETag, and what it was rendered at.
#[derive(Clone)]
pub struct Page {
    revision: i64,
    day: NaiveDate,
    body: Bytes,
    etag: String,
}

impl Page {
    pub fn render(view: &impl Serialize, revision: i64, day: NaiveDate) -> Result<Self, AppError> {
        let body =
            Bytes::from(serde_json::to_vec(view).map_err(|e| AppError::internal(e.to_string()))?);
        Ok(Page {
            revision,
            day,
            etag: body_tag(&body),
            body,
        })
    }

    /// `200` with the body and its ETag (so the conditional-GET layer does not hash it again).
    pub fn response(&self) -> HttpResponse {
        HttpResponse::Ok()
            .content_type(header::ContentType::json())
            .insert_header((header::ETAG, self.etag.as_str()))
            .body(self.body.clone())
    }
}

type Key = (String, Relation);

/// Pages weigh what their bodies weigh (plus the key and bookkeeping), so the cache is bounded
/// in bytes, not in pages.
#[derive(Clone)]
struct BySize;

impl Weighter<Key, Page> for BySize {
    fn weight(&self, key: &Key, page: &Page) -> u64 {
        (page.body.len() + page.etag.len() + key.0.len() + 96) as u64
    }
}

/// The cache itself; `None` when disabled (`MCH_HOME_CACHE_MB=0`).
pub struct HomePages(Option<Cache<Key, Page, BySize>>);

/// A guess of the size of a page, only to size the cache's tables up front.
const TYPICAL_PAGE_BYTES: u64 = 3 * 1024;

impl HomePages {
    pub fn new(capacity_bytes: u64) -> Self {
        HomePages((capacity_bytes > 0).then(|| {
            let pages = (capacity_bytes / TYPICAL_PAGE_BYTES).max(16) as usize;
            Cache::with_weighter(pages, capacity_bytes, BySize)
        }))
    }

    /// The page of `handbook_id` as seen through `relation`, if it was rendered at `revision`
    /// for `day`.
    pub fn get(
        &self,
        handbook_id: &str,
        relation: Relation,
        revision: i64,
        day: NaiveDate,
    ) -> Option<Page> {
        let page = self.0.as_ref()?.get(&(handbook_id.to_string(), relation))?;
        (page.revision == revision && page.day == day).then_some(page)
    }

    /// Keeps `page`. Two requests rendering at once may store an older revision over a newer
    /// one; the next request then finds the revision behind the database's and renders again.
    pub fn put(&self, handbook_id: String, relation: Relation, page: Page) {
        if let Some(cache) = &self.0 {
            cache.insert((handbook_id, relation), page);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn page(revision: i64, d: u32) -> Page {
        Page::render(&serde_json::json!({"revision": revision}), revision, day(d)).unwrap()
    }

    #[test]
    fn a_page_is_used_only_at_its_revision_day_and_relation() {
        let pages = HomePages::new(1 << 20);
        pages.put("h1".into(), Relation::Mother, page(3, 26));
        assert!(pages.get("h1", Relation::Mother, 3, day(26)).is_some());
        assert!(
            pages.get("h1", Relation::Mother, 4, day(26)).is_none(),
            "changed since"
        );
        assert!(
            pages.get("h1", Relation::Mother, 3, day(27)).is_none(),
            "a new day"
        );
        assert!(pages.get("h1", Relation::Family, 3, day(26)).is_none());
        assert!(pages.get("h2", Relation::Mother, 3, day(26)).is_none());
        pages.put("h1".into(), Relation::Mother, page(4, 26));
        let hit = pages.get("h1", Relation::Mother, 4, day(26)).unwrap();
        assert_eq!(&hit.body[..], br#"{"revision":4}"#);
    }

    #[test]
    fn the_response_carries_the_body_and_its_tag() {
        let p = page(1, 26);
        let r = p.response();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers().get(header::ETAG).unwrap(),
            body_tag(&p.body).as_str()
        );
        assert_eq!(
            r.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/json"
        );
    }

    #[test]
    fn disabled_keeps_nothing_and_the_size_is_bounded() {
        let off = HomePages::new(0);
        off.put("h1".into(), Relation::Mother, page(1, 26));
        assert!(off.get("h1", Relation::Mother, 1, day(26)).is_none());

        let small = HomePages::new(64 * 1024);
        for i in 0..1000 {
            small.put(format!("h{i}"), Relation::Mother, page(i, 26));
        }
        let cache = small.0.as_ref().unwrap();
        assert!(cache.weight() <= 64 * 1024, "{} bytes", cache.weight());
        assert!(cache.len() < 1000);
    }
}
