/* The citizen chat widget: posts questions to the chatbot API and shows the answers, suggestions or
   hand-off, with a helpful / not helpful choice on each answer. No framework, no inline script. */
(function () {
  "use strict";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function post(url, body, csrf) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw data;
        return data;
      });
    });
  }

  function setUp(widget) {
    var text = widget.dataset;
    var log = widget.querySelector(".chat-log");
    var form = widget.querySelector(".chat-form");
    var input = form.querySelector("input[name=question]");
    var csrf = (form.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
    var conversationId = null;

    function say(className, content) {
      var item = el("li", className);
      if (typeof content === "string") item.textContent = content;
      else item.appendChild(content);
      log.appendChild(item);
      item.scrollIntoView({ block: "nearest" });
      return item;
    }

    function feedbackButtons(data, answer) {
      var box = el("div", "chat-feedback");
      box.appendChild(el("span", "", text.textHelpful + " "));
      [[true, text.textYes], [false, text.textNo]].forEach(function (choice) {
        var button = el("button", "link-button", choice[1]);
        button.type = "button";
        button.dataset.helpful = String(choice[0]);
        button.addEventListener("click", function () {
          post(text.feedbackUrl, { conversation_id: data.conversation_id, turn_id: data.turn_id,
                                   helpful: choice[0], answer_id: answer.id }, csrf)
            .then(function () { box.textContent = text.textThanks; })
            .catch(function () { box.textContent = text.textError; });
        });
        box.appendChild(button);
        box.appendChild(document.createTextNode(" "));
      });
      return box;
    }

    function answerBlock(data, answer, withFeedback) {
      var block = el("div", "chat-answer");
      block.appendChild(el("strong", "chat-answer-question", answer.question));
      block.appendChild(el("p", "", answer.answer));
      if (answer.link) {
        var link = el("a", "", text.textMore);
        link.href = answer.link;
        block.appendChild(link);
      }
      if (withFeedback) block.appendChild(feedbackButtons(data, answer));
      return block;
    }

    function show(data) {
      if (data.outcome === "answered") {
        say("chat-bot", answerBlock(data, data.answers[0], true));
      } else if (data.outcome === "suggested" && data.answers.length) {
        var list = el("div", "");
        list.appendChild(el("p", "", text.textSuggest));
        var choices = el("ol", "chat-suggestions");
        data.answers.forEach(function (answer) {
          var item = el("li", "");
          var details = el("details", "");
          details.appendChild(el("summary", "", answer.question));
          details.appendChild(answerBlock(data, answer, true));
          item.appendChild(details);
          choices.appendChild(item);
        });
        list.appendChild(choices);
        list.appendChild(el("p", "chat-handoff", text.textHandoff));
        say("chat-bot", list);
      } else {
        say("chat-bot chat-handoff", data.outcome === "out_of_scope" ? text.textOutofscope : text.textHandoff);
      }
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var question = input.value.trim();
      if (!question) return;
      say("chat-me", question);
      input.value = "";
      var waiting = say("chat-bot chat-waiting", text.textThinking);
      var body = { question: question, venue: text.venue || null, lang: text.lang || null };
      if (conversationId) body.conversation_id = conversationId;
      post(text.askUrl, body, csrf)
        .then(function (data) {
          waiting.remove();
          conversationId = data.conversation_id;
          show(data);
        })
        .catch(function () {
          waiting.remove();
          say("chat-bot chat-handoff", text.textError);
        });
    });
  }

  document.querySelectorAll("[data-chat-widget]").forEach(setUp);
})();
