// The account list's "select this page" checkbox (the rest works without JavaScript).
document.addEventListener("change", (event) => {
  const box = event.target;
  if (box.matches("input.select-page")) {
    document.querySelectorAll('input[name="ids"][form="bulk"]').forEach((row) => {
      row.checked = box.checked;
    });
  }
});
