// The incident form's system picker (templates/incidents/system_picker.html). HTMX asks the server for matches
// as one types; this file keeps the choice: a ticked match joins the chosen systems (the next search would
// otherwise replace it), an unticked chosen system leaves them. Find (and Enter) search in place instead of
// posting the form back, which is what they do without script.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-system-picker]").forEach((picker) => {
    const box = picker.querySelector("[data-system-search]");
    const chosen = picker.querySelector("[data-system-chosen]");
    picker.addEventListener("change", (event) => {
      const tick = event.target;
      if (tick.type !== "checkbox") return;
      const item = tick.closest("li");
      if (tick.checked && !chosen.contains(item)) chosen.append(item);
      else if (!tick.checked && chosen.contains(item)) item.remove();
    });
    // Find is the form's first button, so Enter in any of its boxes "clicks" it too.
    picker.querySelector("[data-system-find]").addEventListener("click", (event) => {
      event.preventDefault();
      htmx.trigger(box, "search");
    });
  });
});
