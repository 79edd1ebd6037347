// "New job" on the board (with work_order:create): the booking form of the customer service
// screen (booking.js) in a side panel, its place picked on the live map. The booked job opens in
// the details panel, ready to assign.
import { escapeHtml } from "../shared/api.js";
import { BookingForm } from "../shared/booking.js";

export class NewJob {
  constructor(root, model, boardMap, { details, others = [] }) {
    Object.assign(this, { root, model, details, others });
    this.form = null;
    this.boardMap = boardMap;
  }

  open() {
    for (const panel of this.others) panel.close();
    this.root.hidden = false;
    this.root.innerHTML = `<header><h2>New job</h2><button class="close" aria-label="Close">×</button></header>
      <div class="book-form"></div>`;
    this.root.querySelector(".close").onclick = () => this.close();
    this.form = new BookingForm(this.root.querySelector(".book-form"), {
      stores: () => [...this.model.stores.values()],
      skills: () => [...new Set([...this.model.technicians.values()].flatMap((t) => t.skills || []))].sort(),
      map: this.boardMap.map,
      onBooked: (job) => {
        this.model.applyWorkOrder(job);
        this.close();
        this.details.showOrder(job.id);
        this.details.say(`Booked ${escapeHtml(job.id)}: assign it when ready.`, "ok");
      },
    });
    this.form.render();
    this.root.querySelector("input[name=find], input[name=customer]")?.focus();
  }

  close() {
    this.form?.close();
    this.form = null;
    this.root.hidden = true;
    this.root.innerHTML = "";
  }
}
