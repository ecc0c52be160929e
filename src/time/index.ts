/** Local time in IANA time zones, weekly windows and budget periods: pure functions of an instant. */
export { instantOfWallTime, isTimeZone, localTime, timeZoneSchema, WEEKDAYS, type LocalTime, type Weekday } from "./local-time";
export { periodEnd, periodKey, type Period } from "./period";
export { inWindow, windowEndsDiffer, windowEndsDifferIssue, windowSchema, windowShape, type TimeWindow } from "./window";
