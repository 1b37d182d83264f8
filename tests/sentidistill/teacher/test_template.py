import pytest

from sentidistill.teacher.template import ChatTemplater


@pytest.mark.slow
@pytest.mark.parametrize("model", ["smollm2-135m-instruct", "qwen2.5-coder-1.5b-instruct"])
@pytest.mark.parametrize("system", [None, "You are a sentiment expert."])
def test_same_as_transformers_apply_chat_template(model, system):
    from transformers import AutoTokenizer

    from sentidistill.models.store import ModelNotMaterializedError, model_paths

    try:
        hf = model_paths(model).hf_dir
    except ModelNotMaterializedError as exc:  # CI materializes only the student
        pytest.skip(str(exc))
    tok = AutoTokenizer.from_pretrained(str(hf))
    msg = 'Analyze the overall sentiment of the following text.\n\nText: I {loved} it <3 "really"'
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": msg}]
    expected = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert ChatTemplater(hf, system)(msg) == expected


def test_missing_template(tmp_path):
    with pytest.raises(ValueError, match="chat_template: false"):
        ChatTemplater(tmp_path)
