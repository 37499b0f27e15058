-- latest_votes on ClickHouse, from the Parquet lake (README "At scale"): the same rows as the warehouse's
-- latest_votes (sql/rollups/01_latest_votes.sql). Replace {lake} with the lake's path (file(): a directory the
-- server may read, see user_files_path) or, for a bucket, `file('{lake}/` with `s3('https://BUCKET.s3.REGION.amazonaws.com/PREFIX/`.
--
-- Only the files the lake's _manifest.json lists are read (the manifest is the lake's published state: files of an
-- export still being written, and retired files kept for readers of the previous manifest, are ignored). The
-- ClickHouse path of a file (_path) ends with the manifest's lake-relative path. The structure is given, so no
-- schema inference (and no setting) is needed, and a table with no file yet reads as empty.
--
-- The latest vote: the later created_at, then the higher id, as argMax over the tuple (created_at, id).
with lake_files as (
  select arrayJoin(JSONExtract(raw_blob, 'tables', 'votes', 'files', 'Array(Tuple(path String))')).1 as path
  from file('{lake}/_manifest.json', RawBLOB)
)
select
  conversation_id,
  argMax(vote, (created_at, id)) as vote,
  max(created_at) as voted_at,
  count() as vote_count
from file('{lake}/votes/**/*.parquet', Parquet, 'id Int64, conversation_id String, vote String, created_at DateTime64(6, \'UTC\')')
where replaceRegexpOne(replaceRegexpAll(_path, '/+', '/'), '^.*/(votes/)', '\\1') in (select path from lake_files)
group by conversation_id
order by conversation_id
