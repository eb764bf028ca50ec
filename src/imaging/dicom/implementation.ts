// Who we are on the wire (PS3.7 D.3.3.2) and in the Part 10 header of every
// file we store (PS3.10 7.1), whichever protocol brought it: our implementation
// class UID lives under a UUID-derived root (2.25, PS3.5 B.2), so it needs no registration.
export const IMPLEMENTATION_CLASS_UID = '2.25.167935471803478153474357151093722617611';
export const IMPLEMENTATION_VERSION_NAME = 'KARTEI_01';
