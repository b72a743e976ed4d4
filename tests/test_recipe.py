"""The default recipe of `tuneformers train` as a pure function of the data (no model, no torch)."""

from __future__ import annotations

import pytest

from tuneformers.cli.recipe import (MAX_EPOCHS, MIN_STEPS, DataProfile, choose_max_length, choose_recipe,
                                    length_sample, short_run_warnings)

SNIPPETS = [20 + i % 30 for i in range(1000)]  # token counts like Rotten Tomatoes snippets: 20..49


def recipe_for(num_examples: int, explicit: dict | None = None, counts=SNIPPETS, **profile):
    return choose_recipe(DataProfile(num_examples, counts, 512, **profile), explicit or {})


def test_the_packaged_job_keeps_one_pass_of_94_steps_at_batch_32():
    recipe = recipe_for(3000)
    assert recipe.values["num_train_epochs"] == 1.0 and recipe.values["per_device_train_batch_size"] == 32
    assert recipe.values["eval_strategy"] == "steps" and recipe.values["eval_steps"] == 25
    assert recipe.values["save_steps"] == 25 and recipe.values["load_best_model_at_end"]
    assert recipe.values["metric_for_best_model"] == "accuracy" and recipe.early_stopping_patience is None
    assert "batch size" not in recipe.reasons and "94 steps" in recipe.reasons["epochs"]


def test_a_400_row_file_gets_smaller_batches_and_epochs_up_to_the_step_floor():
    recipe = recipe_for(400)
    assert recipe.values["per_device_train_batch_size"] == 16  # 25 steps an epoch
    assert recipe.values["num_train_epochs"] == 4.0  # 100 steps, not the 13 of one pass at batch 32
    assert recipe.values["eval_strategy"] == recipe.values["save_strategy"] == "epoch"
    assert recipe.values["load_best_model_at_end"] and recipe.values["save_total_limit"] == 1
    assert recipe.early_stopping_patience == 2
    assert "small file" in recipe.reasons["batch size"] and "100 in all" in recipe.reasons["epochs"]


@pytest.mark.parametrize("num_examples, batch_size, epochs", [
    (50, 8, MAX_EPOCHS),  # 7 steps an epoch: the cap
    (200, 8, 4), (300, 8, 3), (500, 16, 3), (800, 32, 4), (1600, 32, 2), (2400, 32, 1), (100_000, 32, 1)])
def test_steps_reach_the_floor_without_passing_over_a_large_file_twice(num_examples, batch_size, epochs):
    values = recipe_for(num_examples).values
    assert (values["per_device_train_batch_size"], values["num_train_epochs"]) == (batch_size, epochs)
    steps = epochs * -(-num_examples // batch_size)
    assert steps >= 0.7 * MIN_STEPS or epochs == MAX_EPOCHS


def test_a_long_single_pass_evaluates_about_ten_times():
    values = recipe_for(100_000).values
    assert values["eval_steps"] == values["save_steps"] == 313  # 3,125 steps / 10


def test_max_length_is_the_95th_percentile_rounded_up_to_8_and_capped_by_the_model():
    assert choose_max_length(list(range(1, 101)), 512)[0] == 96  # 95th of 1..100 is 95
    assert choose_max_length([30] * 96 + [400] * 4, 512)[0] == 32
    length, reason = choose_max_length([600] * 10, 512)
    assert length == 512 and "the model's limit" in reason
    length, reason = choose_max_length([40] * 19 + [90], 128)
    assert length == 40 and "95% of 20 sampled" in reason
    assert recipe_for(3000).values["max_length"] == 48  # snippets: not a fixed 128


def test_explicit_flags_win():
    for flags in ({"num_train_epochs": 2.0}, {"max_steps": 50}):
        recipe = recipe_for(400, flags)
        assert set(recipe.values) == {"max_length"} and recipe.early_stopping_patience is None
    assert "max_length" not in recipe_for(400, {"max_length": 64}).values
    # A batch size given alone: epochs follow from it.
    values = recipe_for(400, {"per_device_train_batch_size": 8}).values
    assert "per_device_train_batch_size" not in values and values["num_train_epochs"] == 2.0  # 50 steps an epoch
    # Any evaluation flag keeps evaluation and checkpoints the user's.
    for flag, value in (("eval_strategy", "no"), ("save_strategy", "steps"), ("load_best_model_at_end", False),
                        ("metric_for_best_model", "f1_macro"), ("eval_steps", 10)):
        recipe = recipe_for(400, {flag: value})
        assert not {"eval_strategy", "save_strategy", "load_best_model_at_end"} & set(recipe.values), flag
        assert recipe.early_stopping_patience is None and recipe.values["num_train_epochs"] == 4.0


def test_without_held_out_data_nothing_is_evaluated_or_kept():
    recipe = recipe_for(400, has_validation=False)
    assert recipe.values["num_train_epochs"] == 4.0 and "eval_strategy" not in recipe.values
    assert recipe.early_stopping_patience is None and "evaluation" not in recipe.reasons


def test_regression_keeps_the_model_with_the_lowest_loss():
    assert recipe_for(400, task="regression").values["metric_for_best_model"] == "loss"


def test_length_sample_is_bounded_seeded_and_spread_over_the_file():
    assert length_sample(10) == list(range(10))
    sample = length_sample(50_000, seed=3)
    assert len(sample) == 1000 and sample == length_sample(50_000, seed=3) != length_sample(50_000, seed=4)
    assert sample == sorted(set(sample)) and sample[-1] > 40_000  # not the first rows of a sorted file


def test_warnings_for_a_run_that_is_likely_too_short():
    falling = [{"loss": loss, "step": step} for loss, step in zip((0.69, 0.68, 0.62, 0.55), (1, 5, 10, 13))]
    warnings = short_run_warnings(13, falling, {"eval_accuracy": 0.555, "eval_majority_class_accuracy": 0.54})
    assert len(warnings) == 3
    assert "only 13 optimizer steps" in warnings[0] and "still falling" in warnings[1] and "0.555" in warnings[2]
    flat = [{"loss": 0.3, "step": step} for step in range(100)] + [{"eval_accuracy": 0.8}]
    assert short_run_warnings(100, flat, {"eval_accuracy": 0.8, "eval_majority_class_accuracy": 0.55}) == []


def test_bf16_is_chosen_where_the_device_has_it_natively_and_an_explicit_flag_wins():
    assert "bf16" not in recipe_for(3000).values and "precision" not in recipe_for(3000).reasons
    recipe = recipe_for(3000, native_bf16=True)
    assert recipe.values["bf16"] is True and "native on this device" in recipe.reasons["precision"]
    assert recipe_for(3000, {"num_train_epochs": 2.0}, native_bf16=True).values["bf16"] is True
    assert "bf16" not in recipe_for(3000, {"bf16": False}, native_bf16=True).values
