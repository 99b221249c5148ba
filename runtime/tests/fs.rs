//! `goro::fs`: whole-file calls and `File` reads, writes and seeks, on the blocking pool.

mod common;

use common::{each_procs, rt};
use goro::fs::{self, File};
use goro::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use std::io::SeekFrom;
use std::path::PathBuf;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

fn scratch(name: &str, n: usize) -> PathBuf {
    std::env::temp_dir().join(format!("goro-fs-{}-{name}-{n}", std::process::id()))
}

#[test]
fn whole_file_round_trip() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let dir = scratch("dir", n);
            let path = dir.join("a/b/data.bin");
            fs::create_dir_all(path.parent().unwrap()).await.unwrap();
            let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
            fs::write(&path, &data).await.unwrap();
            assert_eq!(fs::read(&path).await.unwrap(), data);
            assert_eq!(fs::metadata(&path).await.unwrap().len(), 100_000);
            fs::write(&path, "text").await.unwrap();
            assert_eq!(fs::read_to_string(&path).await.unwrap(), "text");
            fs::remove_file(&path).await.unwrap();
            let err = fs::read(&path).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
            assert!(!fs::try_exists(&path).await.unwrap());
            fs::remove_dir_all(&dir).await.unwrap();
        });
    });
}

#[test]
fn file_streams_small_reads_and_writes() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let path = scratch("stream", n);
            let mut file = File::create(&path).await.unwrap();
            let mut expected = Vec::new();
            for i in 0..1000u32 {
                let line = format!("line {i}\n");
                file.write_all(line.as_bytes()).await.unwrap();
                expected.extend_from_slice(line.as_bytes());
            }
            file.flush().await.unwrap();
            drop(file);

            let mut file = File::open(&path).await.unwrap();
            let mut got = Vec::new();
            let mut chunk = [0u8; 7];
            loop {
                let k = file.read(&mut chunk).await.unwrap();
                if k == 0 {
                    break;
                }
                got.extend_from_slice(&chunk[..k]);
            }
            assert_eq!(got, expected);
            fs::remove_file(&path).await.unwrap();
        });
    });
}

#[test]
fn seeks_account_for_read_ahead() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let path = scratch("seek", n);
            fs::write(&path, b"0123456789abcdef").await.unwrap();
            let std = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .unwrap();
            let mut file = File::from_std(std);
            let mut two = [0u8; 2];
            file.read_exact(&mut two).await.unwrap(); // reads ahead the whole file
            assert_eq!(&two, b"01");
            // Relative to what was handed out, not to the OS position.
            assert_eq!(file.seek(SeekFrom::Current(2)).await.unwrap(), 4);
            file.read_exact(&mut two).await.unwrap();
            assert_eq!(&two, b"45");
            // A write after a read-ahead lands where the reader is.
            file.write_all(b"XY").await.unwrap();
            assert_eq!(file.seek(SeekFrom::End(-2)).await.unwrap(), 14);
            file.read_exact(&mut two).await.unwrap();
            assert_eq!(&two, b"ef");
            file.set_len(10).await.unwrap();
            assert_eq!(file.metadata().await.unwrap().len(), 10);
            drop(file);
            assert_eq!(fs::read(&path).await.unwrap(), b"012345XY89");
            fs::remove_file(&path).await.unwrap();
        });
    });
}

#[test]
fn a_failed_write_is_reported_by_flush() {
    rt(1).block_on(async {
        // /dev/full fails every write with ENOSPC.
        let std = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let mut file = File::from_std(std);
        file.write_all(b"data").await.unwrap(); // write-behind: accepted
        let err = file.flush().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
    });
}

#[test]
#[should_panic(expected = "no goro runtime")]
fn fs_outside_a_runtime_panics() {
    let mut fut = std::pin::pin!(fs::read("/nonexistent"));
    let _ = common::poll_once(&mut fut);
}

/// `read_dir` lists every entry exactly once across several blocking chunks (more entries
/// than `CHUNK`), with names, paths, types and metadata; a missing directory is `NotFound`.
#[test]
fn read_dir_lists_every_entry_across_chunks() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let dir = scratch("read-dir", n);
            let count = 101; // over three chunks of 32 entries per hand-off
            fs::create_dir_all(dir.join("sub")).await.unwrap();
            for i in 0..count {
                fs::write(dir.join(format!("f{i:03}")), vec![0u8; i])
                    .await
                    .unwrap();
            }
            let mut entries = fs::read_dir(&dir).await.unwrap();
            let mut files = Vec::new();
            let mut dirs = Vec::new();
            while let Some(entry) = entries.next_entry().await.unwrap() {
                let name = entry.file_name().into_string().unwrap();
                assert_eq!(entry.path(), dir.join(&name));
                if entry.file_type().await.unwrap().is_dir() {
                    dirs.push(name);
                } else {
                    let len = entry.metadata().await.unwrap().len() as usize;
                    assert_eq!(format!("f{len:03}"), name, "size encodes the name");
                    files.push(name);
                }
            }
            assert!(
                entries.next_entry().await.unwrap().is_none(),
                "stays at the end"
            );
            files.sort();
            let expected: Vec<String> = (0..count).map(|i| format!("f{i:03}")).collect();
            assert_eq!(files, expected);
            assert_eq!(dirs, ["sub"]);
            fs::remove_dir_all(&dir).await.unwrap();
            let err = fs::read_dir(&dir).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        });
    });
}

/// `OpenOptions`: append adds at the end across opens, `create_new` refuses an existing
/// file, `truncate` empties it, read+write on one handle, and `create` without `write` is
/// std's `InvalidInput`, not a panic.
#[test]
fn open_options_append_create_new_truncate() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let path = scratch("options", n);
            let _ = fs::remove_file(&path).await;
            for line in ["one\n", "two\n"] {
                let mut f = fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .await
                    .unwrap();
                f.write_all(line.as_bytes()).await.unwrap();
                f.flush().await.unwrap();
            }
            assert_eq!(fs::read_to_string(&path).await.unwrap(), "one\ntwo\n");
            let err = File::options()
                .write(true)
                .create_new(true)
                .open(&path)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
            let mut f = File::options()
                .read(true)
                .write(true)
                .truncate(true)
                .open(&path)
                .await
                .unwrap();
            f.write_all(b"fresh").await.unwrap();
            f.seek(SeekFrom::Start(0)).await.unwrap();
            let mut back = Vec::new();
            f.read_to_end(&mut back).await.unwrap();
            assert_eq!(back, b"fresh");
            let err = fs::OpenOptions::new()
                .create(true)
                .open(&path)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
            fs::remove_file(&path).await.unwrap();
        });
    });
}
