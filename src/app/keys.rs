//! Keys: first to the popup that has them (palette, filter, prompt, confirmation, outcome,
//! help), else through the keymap to a command.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyEventKind};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::config::Command;
use crate::palette;
use crate::state::{App, Overlay};

use super::Effect;

impl App {
    pub fn on_terminal(&mut self, ev: &TermEvent) -> Vec<Effect> {
        match ev {
            TermEvent::Key(k) if k.kind != KeyEventKind::Release => self.on_key(k),
            _ => Vec::new(),
        }
    }

    pub fn on_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        match &mut self.overlay {
            Overlay::Palette(input) => {
                match key.code {
                    KeyCode::Esc => self.overlay = Overlay::None,
                    KeyCode::Enter => {
                        let line = input.value().trim().to_string();
                        self.overlay = Overlay::None;
                        return self.run_palette(&line);
                    }
                    KeyCode::Tab => {
                        if let Some(name) = palette::complete(input.value()) {
                            *input = Input::new(name.to_string());
                        }
                    }
                    _ => {
                        input.handle_event(&TermEvent::Key(*key));
                    }
                }
                return Vec::new();
            }
            Overlay::Filter(input) => {
                match key.code {
                    KeyCode::Esc => {
                        self.filters[self.view.index()].clear();
                        self.overlay = Overlay::None;
                    }
                    KeyCode::Enter => self.overlay = Overlay::None,
                    _ => {
                        input.handle_event(&TermEvent::Key(*key));
                        self.filters[self.view.index()] = input.value().to_string();
                    }
                }
                self.selected[self.view.index()] = 0;
                self.rebuild_rows();
                return Vec::new();
            }
            Overlay::Ask(ask) => {
                match key.code {
                    KeyCode::Esc => self.overlay = Overlay::None,
                    KeyCode::Enter => {
                        let ask = ask.clone();
                        self.overlay = Overlay::None;
                        return self.answer(ask);
                    }
                    _ => {
                        ask.input.handle_event(&TermEvent::Key(*key));
                    }
                }
                return Vec::new();
            }
            Overlay::Confirm(c) => {
                match key.code {
                    KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right => {
                        c.apply_focused = !c.apply_focused;
                    }
                    KeyCode::Enter if c.apply_focused => {
                        let c = c.clone();
                        self.overlay = Overlay::None;
                        return self.send(c);
                    }
                    KeyCode::Enter | KeyCode::Esc | KeyCode::Char('n') => {
                        self.overlay = Overlay::None;
                        self.toast = Some("cancelled: nothing was sent".into());
                    }
                    _ => {}
                }
                return Vec::new();
            }
            Overlay::Outcome { .. } => {
                // Any key dismisses the result; it has been read.
                self.overlay = Overlay::None;
                return Vec::new();
            }
            Overlay::Help => {
                // Any key closes help; quit still quits.
                self.overlay = Overlay::None;
                if self.keymap.resolve(self.view, key) == Some(Command::Quit) {
                    self.quit = true;
                    return vec![Effect::Quit];
                }
                return Vec::new();
            }
            Overlay::ChooseLog(choice) => {
                let last = choice.items.len().saturating_sub(1);
                match key.code {
                    KeyCode::Esc => self.overlay = Overlay::None,
                    KeyCode::Down | KeyCode::Char('j') => choice.selected = (choice.selected + 1).min(last),
                    KeyCode::Up | KeyCode::Char('k') => choice.selected = choice.selected.saturating_sub(1),
                    KeyCode::PageDown => choice.selected = (choice.selected + 10).min(last),
                    KeyCode::PageUp => choice.selected = choice.selected.saturating_sub(10),
                    KeyCode::Enter | KeyCode::Char('l') => {
                        let spec = choice.items.get(choice.selected).map(|(_, s)| s.clone());
                        self.overlay = Overlay::None;
                        if let Some(spec) = spec {
                            return self.open_log(spec);
                        }
                    }
                    _ => {}
                }
                return Vec::new();
            }
            Overlay::None => {}
        }
        if self.log.is_some() {
            return self.on_log_key(key);
        }
        match self.keymap.resolve(self.view, key) {
            Some(cmd) => self.run(cmd),
            None => Vec::new(),
        }
    }
}
