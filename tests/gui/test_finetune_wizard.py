"""The fine-tune wizard driven through its real widgets: data → base model → settings → training → finish."""
import json
from pathlib import Path

from hrnet_studio.gui.finetune.training_process import TrainingProcess
from hrnet_studio.models.registry import ModelRegistry

TRAIN_TIMEOUT = 240_000


def open_wizard_from_menu(window):
    tools = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools")
    next(a for a in tools.actions() if a.text().startswith("&Fine-tune")).trigger()
    return window.finetune_wizard


def fill_data_page(qtbot, wizard, annotations: Path, images: Path) -> None:
    page = wizard.data_page
    page.annotation_edit.setText(str(annotations))
    page.images_edit.setText(str(images))
    qtbot.waitUntil(lambda: page.report is not None, timeout=30_000)


def test_bad_data_is_reported_and_blocks_the_next_page(qtbot, app_window, assets, tmp_path):
    wizard = open_wizard_from_menu(app_window)
    page = wizard.data_page
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 9, "height": 9}],
                               "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5],
                                                "keypoints": [1, 1, 2]}],
                               "categories": [{"id": 1, "name": "person", "keypoints": ["a", "b"]}]}))
    fill_data_page(qtbot, wizard, bad, tmp_path)
    assert "bad.json: annotation #0 (id 7) has 3 keypoint values" in page.report_box.toPlainText()
    assert not page.isComplete() and not wizard.button(wizard.WizardButton.NextButton).isEnabled()
    root = assets / "data" / "coco_sample"
    page.images_edit.setText(str(tmp_path / "nowhere"))
    page.annotation_edit.setText(str(root / "annotations" / "test_coco.json"))
    qtbot.waitUntil(lambda: page.report is not None, timeout=30_000)
    assert "image folder not found" in page.report_box.toPlainText() and not page.isComplete()
    page.images_edit.setText(str(root / "images"))
    qtbot.waitUntil(lambda: page.isComplete(), timeout=30_000)
    assert page.report_box.toPlainText().startswith("COCO format: 4 images, 12 persons, 17 keypoints (nose, ")
    wizard.reject()


def test_wizard_trains_stops_resumes_and_the_model_is_selectable(qtbot, app_window, assets, runs):
    wizard = open_wizard_from_menu(app_window)
    root = assets / "data" / "coco_sample"
    fill_data_page(qtbot, wizard, root / "annotations" / "test_coco.json", root / "images")
    assert wizard.data_page.isComplete()
    wizard.next()

    base = wizard.base_page  # the 17-keypoint W8 fits; the 16-keypoint one needs a new last layer
    names = [base.model_list.item(i).text() for i in range(base.model_list.count())]
    assert base.model_list.currentItem().text().startswith("w8  (hrnet_w8, 17 keypoints")
    assert "nothing is re-initialised" in base.plan_label.text()
    assert any(n.startswith("new HRNet-W32 from scratch") for n in names)
    assert any(n.startswith("new HRNetV2-W18 (landmarks") for n in names)
    base.model_list.setCurrentRow(next(i for i, n in enumerate(names) if n.startswith("w8-16kp")))
    assert "re-initialised (new keypoint set): final_layer.weight, final_layer.bias" in base.plan_label.text()
    wizard.next()

    settings = wizard.settings_page
    assert settings.preset_combo.currentText() == "finetune_quick"
    assert settings.name_edit.text() == "test_coco-w8" and settings.isComplete()
    settings.name_edit.setText("w8")  # taken
    assert not settings.isComplete() and "a model named w8 is installed already" in settings.status_label.text()
    settings.name_edit.setText("my-pose")
    settings.epochs_spin.setValue(3)
    settings.batch_spin.setValue(6)
    settings.lr_spin.setValue(0.002)
    settings.input_combo.setCurrentText("96×128")
    settings.device_combo.setCurrentText("cpu")
    assert settings.isComplete()
    wizard.next()  # "Train": the run starts in its own process

    training = wizard.training_page
    recipe = json.loads(json.dumps(__import__("yaml").safe_load(training.recipe_file.read_text())))
    assert recipe["model"]["input_size"] == [96, 128] and recipe["epochs"] == 3 and recipe["register_as"] == "my-pose"
    qtbot.waitUntil(lambda: len(training.curves.epochs) >= 1, timeout=TRAIN_TIMEOUT)
    assert training.curves.steps and training.progress.maximum() == 6  # 12 persons / batch 6 × 3 epochs
    qtbot.waitUntil(lambda: training.curves.step_curve.getData()[0] is not None, timeout=5_000)  # drawn
    assert len(training.curves.train_curve.getData()[0]) >= 1 and "coco_ap" in training.curves.metric_curves
    assert "re-initialised final_layer.weight, final_layer.bias" in training.log_box.toPlainText()
    training.stop_button.click()
    qtbot.waitUntil(lambda: training.state in ("stopped", "failed", "done"), timeout=TRAIN_TIMEOUT)
    assert training.state == "stopped", training.status_label.text()
    assert not training.isComplete() and training.resume_button.isEnabled()
    stopped_at = max(training.curves.epochs)
    assert stopped_at < 3  # stopped after its current step

    training.resume_button.click()
    qtbot.waitUntil(lambda: training.state in ("stopped", "failed", "done"), timeout=TRAIN_TIMEOUT)
    assert training.state == "done", training.status_label.text()
    assert sorted(training.curves.epochs) == [1, 2, 3]  # the earlier epochs replayed, the rest trained
    assert "coco_ap" in training.curves.metric_curves and training.registered == "my-pose"
    assert training.isComplete()
    wizard.next()

    assert "my-pose is registered" in wizard.finish_page.summary.text()
    assert wizard.finish_page.use_now.isChecked()
    wizard.accept()
    assert app_window.panel.model_combo.currentData() == "my-pose"
    qtbot.waitUntil(lambda: app_window.model_info is not None and app_window.model_info.name == "my-pose",
                    timeout=60_000)
    assert ModelRegistry().find("my-pose").metadata.source == "fine-tune"


def test_a_failing_run_reports_its_error(qtbot, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("name: broken\ndata:\n  train_annotations: /nowhere/train.json\n  train_images: /nowhere\n")
    process = TrainingProcess(tmp_path)
    with qtbot.waitSignal(process.finished, timeout=120_000) as finished:
        process.start(recipe)
    state, message = finished.args
    assert state == "failed" and message == "error: annotation file not found: /nowhere/train.json"


def test_closing_the_app_stops_training_at_a_resumable_point(qtbot, app_window, assets, runs):
    wizard = open_wizard_from_menu(app_window)
    root = assets / "data" / "coco_sample"
    fill_data_page(qtbot, wizard, root / "annotations" / "test_coco.json", root / "images")
    wizard.next()
    wizard.next()
    settings = wizard.settings_page
    settings.epochs_spin.setValue(200)
    settings.input_combo.setCurrentText("96×128")
    settings.device_combo.setCurrentText("cpu")
    wizard.next()
    training = wizard.training_page
    qtbot.waitUntil(lambda: len(training.curves.epochs) >= 1, timeout=TRAIN_TIMEOUT)
    app_window.close()  # no question asked: the run stops where it can be resumed
    assert not training.is_running() and training.state == "stopped"
    run = runs / settings.name_edit.text()
    assert (run / "last.pth").is_file() and (run / "recipe.yaml").is_file()
    assert not any(json.loads(line)["event"] == "done" for line in (run / "events.jsonl").read_text().splitlines())
