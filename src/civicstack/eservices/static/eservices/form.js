// Conditional questions: a question with data-show-when="q" data-show-value="v" is shown only when
// question q has the answer v. Without JavaScript every question is shown and the server checks.
(function () {
  "use strict";
  function currentValue(form, name) {
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      if ((input.type === "radio" || input.type === "checkbox")) {
        if (input.checked) { return input.value; }
      } else { return input.value; }
    }
    return "";
  }
  function update(form) {
    form.querySelectorAll("[data-show-when]").forEach(function (box) {
      var shown = currentValue(form, box.dataset.showWhen) === box.dataset.showValue;
      box.hidden = !shown;
    });
  }
  document.querySelectorAll("[data-conditional-form]").forEach(function (form) {
    form.addEventListener("change", function () { update(form); });
    update(form);
  });
})();
