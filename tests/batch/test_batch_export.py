"""Many videos in one export: inputs, output names, the manifest that makes a batch resumable, worker processes."""
import csv
import os
import shutil

import pytest

from hrnet_studio.batch import task as batch_task
from hrnet_studio.batch.inputs import collect_videos, output_names
from hrnet_studio.batch.manifest import Manifest
from hrnet_studio.cli.main import main
from hrnet_studio.errors import StudioError

CLIPS = ("single_person_taichi_340x256.mp4", "two_people_basketball_gym_426x240.mp4",
         "single_person_weightlifting_340x256.mp4")


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def clips(tmp_path, videos):
    """Three shared clips in a folder of their own (one in a subfolder), as a user's footage."""
    folder = tmp_path / "footage"
    (folder / "day2").mkdir(parents=True)
    for i, name in enumerate(CLIPS):
        shutil.copy(videos / name, folder / ("day2" if i == 2 else "") / name)
    return folder


def test_inputs_from_folders_patterns_and_lists(clips, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    top = collect_videos([clips])
    assert [p.name for p in top] == sorted(CLIPS[:2])
    everything = collect_videos([clips], recursive=True)
    assert len(everything) == 3 and everything[0].parent.name == "day2"  # in path order
    assert collect_videos(["footage/*.mp4", str(clips / "two_people_basketball_gym_426x240.mp4")]) == top
    listing = tmp_path / "list.txt"
    listing.write_text(f"# my clips\nfootage/day2/{CLIPS[2]}\n\n{clips / CLIPS[0]}\n")
    assert [p.name for p in collect_videos(["@list.txt"])] == [CLIPS[2], CLIPS[0]]
    for bad, message in (("nothing/*.mp4", "no video matches"), ("missing.mp4", "video not found"),
                         ("@nolist.txt", "cannot read the list file")):
        with pytest.raises(StudioError, match=message):
            collect_videos([bad])
    (tmp_path / "empty").mkdir()
    with pytest.raises(StudioError, match=r"no video .* in .*empty \(add --recursive"):
        collect_videos([tmp_path / "empty"])


def test_output_names_mirror_the_inputs_and_never_collide(tmp_path):
    a, b = tmp_path / "a" / "clip.mp4", tmp_path / "b" / "clip.mp4"
    same_folder = [tmp_path / "a" / "run.mp4", tmp_path / "a" / "run.avi"]
    assert output_names([a, b]) == {a: "a/clip", b: "b/clip"}
    assert set(output_names(same_folder).values()) == {"run_mp4", "run_avi"}
    assert output_names([a]) == {a: "clip"}


def export_args(clips, out, *extra):
    return ["export", clips, "--recursive", "-o", out, "--model", "SMALL", "--detector", "none", "--max-frames", 3,
            "--device", "cpu", "--backend", "torch", *extra]


def with_model(args, model):
    return [model if a == "SMALL" else a for a in args]


def test_a_batch_writes_one_set_per_video_and_a_rerun_skips_what_is_done(capsys, clips, tmp_path,
                                                                        small_checkpoint_96x128):
    out = tmp_path / "out"
    args = with_model(export_args(clips, out, "--json"), small_checkpoint_96x128)
    code, _, err = run_cli(capsys, *args)
    assert code == 0, err
    assert "3 done (9 frames), 0 skipped (already done), 0 partial, 0 failed" in err
    csvs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.csv"))
    assert csvs == [f"day2/{CLIPS[2][:-4]}.csv", f"{CLIPS[0][:-4]}.csv", f"{CLIPS[1][:-4]}.csv"]
    assert len(list(out.rglob("*.json"))) == 3
    manifest = Manifest(out)
    assert len(manifest) == 3 and all(r.status == "done" and r.frames == 3 for r in manifest.last.values())
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.csv")}

    code, _, err = run_cli(capsys, *args)  # the same command again: nothing to do
    assert code == 0 and "0 done (0 frames), 3 skipped (already done)" in err
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.csv")} == stamps

    code, _, err = run_cli(capsys, *args, "--decoder", "official")  # other settings: every video again
    assert code == 0 and "3 done" in err
    (out / f"{CLIPS[0][:-4]}.csv").unlink()  # an output gone: that video again
    code, _, err = run_cli(capsys, *args, "--decoder", "official")
    assert code == 0 and "1 done (3 frames), 2 skipped" in err


def test_a_corrupt_video_is_one_failed_line_not_the_end_of_the_batch(capsys, clips, tmp_path, small_checkpoint_96x128):
    (clips / "broken.mp4").write_text("not a video\n" * 100)
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, *with_model(export_args(clips, out), small_checkpoint_96x128))
    assert code == 3
    assert "3 done (9 frames), 0 skipped (already done), 0 partial, 1 failed" in err
    assert "failed: broken: broken.mp4 is not a video OpenCV can decode" in err and "Traceback" not in err
    failed = [r for r in Manifest(out).last.values() if r.status == "failed"]
    assert len(failed) == 1 and failed[0].name == "broken" and not (out / "broken.csv").exists()
    (clips / "broken.mp4").unlink()
    shutil.copy(clips / CLIPS[0], clips / "broken.mp4")  # replaced by a good file: only it is exported
    code, _, err = run_cli(capsys, *with_model(export_args(clips, out), small_checkpoint_96x128))
    assert code == 0 and "1 done (3 frames), 3 skipped" in err


def test_ctrl_c_leaves_a_resumable_batch(capsys, clips, tmp_path, small_checkpoint_96x128, monkeypatch):
    out = tmp_path / "out"
    real, calls = batch_task.run_task, []

    def interrupted_on_the_second(task, *args, **kwargs):
        calls.append(task.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(task, *args, **kwargs)

    monkeypatch.setattr("hrnet_studio.batch.local.run_task", interrupted_on_the_second)
    code, _, err = run_cli(capsys, *with_model(export_args(clips, out), small_checkpoint_96x128))
    assert code == 130 and "1 done (3 frames)" in err and "2 not started: interrupted" in err
    assert len(Manifest(out).last) == 1 and not [p for p in out.rglob(".*") if p.is_file()]  # no part files
    monkeypatch.setattr("hrnet_studio.batch.local.run_task", real)
    code, _, err = run_cli(capsys, *with_model(export_args(clips, out), small_checkpoint_96x128))
    assert code == 0 and "2 done (6 frames), 1 skipped" in err


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_worker_processes_give_what_one_process_gives(capsys, clips, tmp_path, small_checkpoint_96x128):
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_cli(capsys, *with_model(export_args(clips, one), small_checkpoint_96x128))[0] == 0
    code, _, err = run_cli(capsys, *with_model(export_args(clips, two, "--workers", 2), small_checkpoint_96x128))
    assert code == 0, err
    assert "with 2 workers" in err and "3 done (9 frames)" in err
    for csv_file in one.rglob("*.csv"):
        assert read_rows(two / csv_file.relative_to(one)) == read_rows(csv_file)
    workers = {r.worker for r in Manifest(two).last.values()}
    assert all("/pid" in w for w in workers) and str(os.getpid()) not in "".join(workers)


def test_batch_mistakes_are_one_line(capsys, clips, tmp_path, small_checkpoint_96x128):
    code, _, err = run_cli(capsys, "export", clips, "--model", small_checkpoint_96x128)
    assert code == 2 and "several videos need an output folder: -o FOLDER" in err
    code, _, err = run_cli(capsys, "export", clips, "-o", tmp_path / "out", "--json", tmp_path / "a.json",
                           "--model", small_checkpoint_96x128)
    assert code == 2 and "with several videos, --json takes no file name" in err


def test_workers_split_the_cores_and_the_gpus():
    from hrnet_studio.batch.local import core_shares, gpu_shares

    cores = sorted(os.sched_getaffinity(0))  # this process's (one xdist worker's share, or the machine's)
    shares = core_shares(len(cores))
    assert sorted(c for share in shares for c in share) == cores and all(shares)  # every core, to someone
    assert len(core_shares(len(cores) + 1)) == len(cores) + 1  # more workers than cores: they share
    assert gpu_shares(4, 2) == ["0", "1", "0", "1"] and gpu_shares(2, 0) == [None, None]


def test_swap_repair_in_a_batch_follows_the_flag_and_a_batch_started_before_it_resumes(capsys, clips, tmp_path,
                                                                                       small_checkpoint_96x128):
    out = tmp_path / "out"
    args = with_model(export_args(clips, out), small_checkpoint_96x128)
    assert run_cli(capsys, *args)[0] == 0  # no flag: the CSV alone, swaps only reported
    assert all("fixed" not in next(csv.reader(open(p))) for p in out.rglob("*.csv"))
    assert all("fix_swaps" not in r.settings["analysis"] for r in Manifest(out).last.values())
    code, _, err = run_cli(capsys, *args, "--fix-swaps")  # another setting: every video again, repaired
    assert code == 0 and "3 done" in err
    assert all("fixed" in next(csv.reader(open(p))) for p in out.rglob("*.csv"))
    code, _, err = run_cli(capsys, *args, "--angles", "--no-fix-swaps")
    assert code == 0 and "3 done" in err
    assert all("fixed" not in next(csv.reader(open(p))) for p in out.glob("*[!s].csv"))  # not the angles CSVs
