/** The HTML incident report (and the text timeline Markdown borrows). */
export { renderHtml, type HtmlOptions } from './render.js';
export { textTimeline } from './text-timeline.js';
export { TimelineObserver, type Timeline, type TimelineOptions } from '../../observe/timeline.js';
