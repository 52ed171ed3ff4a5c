//! One shape for every list, `{items, next_cursor}`. Keyset pagination: stable ordering by id
//! (UUIDv7, so time order), `limit` capped at 100; a list bounded by its record is [`Page::whole`].

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

/// `?limit=&cursor=`: `cursor` is the `next_cursor` of the previous page.
#[derive(Debug, Clone, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 50).
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// Opaque cursor from the previous page's `next_cursor`.
    #[validate(length(max = 128))]
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in order: the extra row only says that
    /// another page exists, and the cursor is the key of the last row shown.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(limit).unwrap_or(0);
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(key)
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }

    /// A list that is whole in one page: the versions of one record, the visits of one
    /// pregnancy, the children of one handbook — bounded by the record they belong to. The same
    /// shape as a paged list, with no `next_cursor`, so a client reads every list one way.
    pub fn whole(items: Vec<T>) -> Self {
        Page {
            items,
            next_cursor: None,
        }
    }

    /// [`Page::map`] with a conversion that can fail (a stored value that does not parse).
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, E>>()?,
            next_cursor: self.next_cursor,
        })
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extra_row_makes_a_cursor_and_is_not_shown() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor.as_deref(), Some("2"));
        let last = Page::from_rows(vec![1, 2], 2, |n| n.to_string());
        assert!(last.next_cursor.is_none());
    }

    #[test]
    fn limit_is_capped() {
        assert_eq!(
            PageQuery {
                limit: Some(10_000),
                cursor: None
            }
            .limit(),
            MAX_LIMIT
        );
        assert_eq!(PageQuery::default().limit(), DEFAULT_LIMIT);
    }
}
