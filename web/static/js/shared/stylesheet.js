// A module's own stylesheet, linked once. The content security policy takes styles from files of
// this origin only: never an inline <style> element nor a style attribute in markup.
export function linkStylesheet(href) {
  if (document.querySelector(`link[rel="stylesheet"][href="${href}"]`)) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = href;
  document.head.append(link);
}
