//! MovieLens-100K read into the general log: `u.data` as events (every
//! rating one event, every event a positive), `u.user` as the user table
//! (age bucket, gender, occupation, zip's first digit) and `u.item` as the
//! item table (its genres, also the item categories).

use std::path::Path;

use super::log::{Events, Interactions, SideTable};
use crate::error::Result;
use crate::readers::ReadOptions;
use crate::readers::movielens::{read_items, read_movielens, read_users};
use crate::schema::FieldSpec;

/// The MovieLens user features, in the order the presets' schemas have them.
pub const USER_FIELDS: [&str; 4] = ["age", "gender", "occupation", "zip"];
/// The genres field (at most 6 per movie).
pub const GENRES: &str = "genres";

/// Reads `dir` (`u.data`, `u.user`, `u.item`). Both tables list their ids
/// in ascending numeric order, so rows (and every tie broken by row) order
/// as the numeric ids do.
pub fn read_ml100k(dir: &Path) -> Result<Interactions> {
    let profiles = read_users(&dir.join("u.user"))?;
    let genres = read_items(&dir.join("u.item"))?;
    let ratings = read_movielens(dir, &dir.join("u.data"), &[], ReadOptions::default())?;

    let mut users = SideTable::new(USER_FIELDS.map(FieldSpec::categorical).to_vec());
    let mut ids: Vec<u32> = profiles.keys().copied().collect();
    ids.sort_unstable();
    for id in ids {
        let p = &profiles[&id];
        let cells = [&p.age_bucket, &p.gender, &p.occupation, &p.zip_first];
        users.insert(&id.to_string(), cells.into_iter().cloned());
    }
    let mut items = SideTable::new(vec![FieldSpec::sequence(GENRES, 6)]);
    let mut ids: Vec<u32> = genres.keys().copied().collect();
    ids.sort_unstable();
    for id in ids {
        items.insert(&id.to_string(), std::iter::once(genres[&id].clone()));
    }
    let mut events = Events::default();
    for ((&user, &item), &time) in ratings
        .user
        .iter()
        .zip(&ratings.item)
        .zip(&ratings.timestamp)
    {
        events.user.push(users.row_or_add(&user.to_string()));
        events.item.push(items.row_or_add(&item.to_string()));
        events.time.push(time.saturating_mul(1000));
        events.kind.push(0);
    }
    Ok(Interactions {
        name: dir.join("u.data").display().to_string(),
        users,
        items,
        events,
        event_types: vec![String::new()],
        positive: vec![true],
        item_vectors: None,
        categories: Some(0),
        skipped_events: 0,
    })
}
